// Look-ups: what became of an event, and a customer's timeline, with what each trigger did.

import { api } from "./api.js";
import { badge, empty, field, h, json, loading, problem, show, table, when } from "./dom.js";

export async function lookupView() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const eventId = h("input", { name: "eventId", id: "lookup-event", value: params.get("event") || "",
    placeholder: "evt_…", autocomplete: "off" });
  const customerId = h("input", { name: "customerId", id: "lookup-customer", value: params.get("customer") || "",
    placeholder: "CUST-001", autocomplete: "off" });
  const result = h("div", { "aria-live": "polite" });
  const go = (name, value) => { location.hash = `#/lookup?${new URLSearchParams({ [name]: value.trim() })}`; };
  show(h("h1", {}, "Look up"),
    h("div", { class: "row" },
      h("form", { class: "card", onsubmit: (e) => { e.preventDefault(); go("event", eventId.value); } },
        field("Event id", eventId), h("button", { type: "submit" }, "Find the event")),
      h("form", { class: "card", onsubmit: (e) => { e.preventDefault(); go("customer", customerId.value); } },
        field("Customer id", customerId), h("button", { type: "submit" }, "Show the timeline"))),
    result);
  if (params.get("event")) await showEvent(params.get("event"), result);
  else if (params.get("customer")) await showCustomer(params.get("customer"), result);
}

async function showEvent(id, result) {
  result.replaceChildren(loading());
  try {
    const story = await api("GET", `/events/${encodeURIComponent(id)}`);
    result.replaceChildren(h("section", { class: "card", id: "event-story" }, storyOf(story), h("h3", {}, "As recorded"),
      json(story.event)));
  } catch (error) {
    result.replaceChildren(problem(error));
  }
}

async function showCustomer(id, result, cursor = null, list = null) {
  if (!list) {
    list = h("div", { id: "timeline" });
    result.replaceChildren(h("h2", {}, "Timeline of ", h("span", {}, id)), list);
  }
  const more = h("p", {}, loading());
  list.append(more);
  try {
    const page = await api("GET", `/customers/${encodeURIComponent(id)}/events`, { query: { cursor, limit: 20 } });
    more.remove();
    if (!page.data.length && !cursor) list.append(empty("No events for this customer."));
    for (const story of page.data) list.append(h("section", { class: "card" }, storyOf(story)));
    if (page.nextCursor) {
      list.append(h("button", { type: "button", onclick: (event) => { event.target.remove(); showCustomer(id, result, page.nextCursor, list); } },
        "Older events"));
    }
  } catch (error) {
    more.replaceChildren(problem(error));
  }
}

function storyOf(story) {
  const event = story.event;
  const rows = story.triggers.map((t) => h("tr", {},
    h("td", {}, h("a", { href: `#/triggers/${t.triggerId}/history` }, t.triggerId), h("div", { class: "sub" }, `v${t.triggerVersion}`)),
    h("td", {}, t.actionType), h("td", {}, badge(t.outcome)),
    h("td", {}, t.dispatchId ? h("a", { href: `#/dispatches?id=${encodeURIComponent(t.dispatchId)}` }, t.dispatchId) : "—"),
    h("td", {}, t.dispatchStatus ? badge(t.dispatchStatus) : "—")));
  return h("div", { class: "story" },
    h("h3", {}, event.type, " · ", h("a", { href: `#/lookup?event=${encodeURIComponent(story.eventId)}` }, story.eventId)),
    h("p", { class: "meta" }, "Customer ", h("strong", {}, event.customerId), " · received ", when(event.receivedAt),
      " · stream ", story.stream.published ? badge(`sequence ${story.stream.sequence}`, "delivered") : badge("pending", "retrying")),
    h("p", {}, h("code", { class: "data" }, JSON.stringify(event.data))),
    table(["Trigger", "Action", "Outcome", "Dispatch", "Status"], rows, { empty: "No trigger matched this event." }));
}
