// The live stream: the tenant's events as they are ingested, over server-sent events.
// EventSource cannot carry a header, so each connection asks first for a ticket of a few seconds
// with the bearer token; the token itself never appears in a URL.

import { api } from "./api.js";
import { field, h, problem, show, when } from "./dom.js";

const KEEP = 200;

export async function liveView() {
  const type = h("select", { name: "type", id: "live-type" },
    ["", "purchase", "cart_abandon", "page_view", "app_open", "support_call"].map((t) => h("option", { value: t }, t || "any")));
  const customer = h("input", { name: "customerId", id: "live-customer", placeholder: "any customer" });
  const state = h("p", { class: "status", role: "status" }, "Connecting…");
  const rows = h("tbody", { id: "live-events" });
  const nothing = h("p", { class: "empty" }, "Waiting for events… Ingest one and it appears here.");
  let source = null;
  let stopped = false;
  let retry = null;

  const connect = async () => {
    source?.close();
    clearTimeout(retry);
    state.textContent = "Connecting…";
    let ticket;
    try {
      ticket = (await api("POST", "/stream-tickets")).ticket;
    } catch (error) {
      state.replaceChildren(problem(error));
      retry = setTimeout(connect, 5000);
      return;
    }
    if (stopped) return;
    const url = new URL("/api/v1/events/live", location.origin);
    url.searchParams.set("ticket", ticket);
    if (type.value) url.searchParams.set("type", type.value);
    if (customer.value.trim()) url.searchParams.set("customerId", customer.value.trim());
    source = new EventSource(url);
    source.addEventListener("open", () => { state.textContent = "Live: new events appear as they are ingested."; });
    source.addEventListener("ingested", (message) => {
      nothing.remove();
      rows.prepend(eventRow(JSON.parse(message.data)));
      while (rows.children.length > KEEP) rows.lastElementChild.remove();
    });
    source.addEventListener("error", () => {
      source.close(); // a ticket opens one connection: reconnect with a new one
      if (!stopped) {
        state.textContent = "Disconnected; reconnecting…";
        retry = setTimeout(connect, 1000);
      }
    });
  };

  const filters = h("form", { class: "filters", onsubmit: (event) => { event.preventDefault(); rows.replaceChildren(); connect(); } },
    field("Type", type), field("Customer", customer), h("button", { type: "submit" }, "Apply"));
  show(h("h1", {}, "Live stream"), filters, state,
    h("div", { class: "table-wrap" }, h("table", { class: "live" },
      h("thead", {}, h("tr", {}, ["Received", "Type", "Customer", "Channel", "Event", "Data"].map((t) => h("th", { scope: "col" }, t)))),
      rows)), nothing);
  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
}

function eventRow(event) {
  return h("tr", { "data-event": event.id },
    h("td", {}, when(event.receivedAt)), h("td", {}, event.type),
    h("td", {}, h("a", { href: `#/lookup?customer=${encodeURIComponent(event.customerId)}` }, event.customerId)),
    h("td", {}, event.channel ?? "—"),
    h("td", {}, h("a", { href: `#/lookup?event=${encodeURIComponent(event.id)}` }, event.id)),
    h("td", {}, h("code", { class: "data" }, JSON.stringify(event.data))));
}
