// The dispatch log: filters, a dispatch's attempts, resending one, and resending every dead one.

import { api } from "./api.js";
import { badge, field, fill, h, loading, problem, show, table, when } from "./dom.js";
import { isAdmin } from "./session.js";

const FILTERS = ["status", "triggerId", "eventId", "customerId", "actionType"];

export async function dispatchesView() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const controls = {
    status: h("select", { name: "status", id: "d-status" }, ["", "pending", "retrying", "delivered", "dead"].map((s) =>
      h("option", { value: s, selected: params.get("status") === s }, s || "any"))),
    triggerId: h("input", { name: "triggerId", id: "d-trigger", value: params.get("triggerId") || "", placeholder: "tr_…" }),
    eventId: h("input", { name: "eventId", id: "d-event", value: params.get("eventId") || "", placeholder: "evt_…" }),
    customerId: h("input", { name: "customerId", id: "d-customer", value: params.get("customerId") || "" }),
    actionType: h("select", { name: "actionType", id: "d-action" }, ["", "recommend", "enroll_journey", "decision_request",
      "webhook"].map((t) => h("option", { value: t, selected: params.get("actionType") === t }, t || "any"))),
  };
  const list = h("div", {}, loading());
  const detail = h("div", { id: "dispatch-detail", "aria-live": "polite" });
  const bulk = h("div", { class: "bulk", "aria-live": "polite" });
  const filters = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const name of FILTERS) if (controls[name].value.trim()) query.set(name, controls[name].value.trim());
    location.hash = `#/dispatches?${query}`;
  } },
  field("Status", controls.status), field("Trigger", controls.triggerId), field("Event", controls.eventId),
  field("Customer", controls.customerId), field("Action", controls.actionType), h("button", { type: "submit" }, "Filter"));
  show(h("div", { class: "heading" }, h("h1", {}, "Dispatches"),
    isAdmin() ? h("button", { type: "button", class: "danger", id: "resend-dead", onclick: () => confirmBulk(bulk) },
      "Resend all dead") : null),
  bulk, filters, detail, list);
  const query = Object.fromEntries(FILTERS.map((name) => [name, params.get(name)]));
  await page(list, detail, query, null);
  if (params.get("id")) await open(params.get("id"), detail);
}

async function page(list, detail, query, cursor) {
  try {
    const answer = await api("GET", "/dispatches", { query: { ...query, cursor, limit: 25 } });
    const rows = answer.data.map((d) => h("tr", { "data-dispatch": d.id },
      h("td", {}, when(d.createdAt)),
      h("td", { class: "id" }, h("button", { type: "button", class: "link", onclick: () => open(d.id, detail) }, d.id)),
      h("td", { class: "id" }, h("a", { href: `#/triggers/${d.triggerId}/history` }, d.triggerId)),
      h("td", {}, d.customerId), h("td", {}, d.actionType), h("td", { class: "target" }, d.target),
      h("td", {}, badge(d.status)), h("td", { class: "num" }, d.attempts.length),
      h("td", { class: "error" }, d.lastError || "—")));
    const more = answer.nextCursor ? h("button", { type: "button", onclick: async (event) => {
      event.target.remove();
      const older = h("div", {}, loading());
      list.append(older);
      await page(older, detail, query, answer.nextCursor);
    } }, "Older dispatches") : null;
    fill(list, table(["Created", "Dispatch", "Trigger", "Customer", "Action", "Target", "Status", "Attempts",
      "Last error"], rows, { empty: "No dispatch matches. Fired triggers' dispatches appear here." }), more);
  } catch (error) {
    list.replaceChildren(problem(error));
  }
}

async function open(id, detail) {
  detail.replaceChildren(loading());
  try {
    const d = await api("GET", `/dispatches/${encodeURIComponent(id)}`);
    const attempts = d.attempts.map((a, n) => h("tr", {},
      h("td", { class: "num" }, n + 1), h("td", {}, when(a.at)), h("td", { class: "num" }, `${a.durationMs} ms`),
      h("td", {}, badge(a.outcome === "delivered" ? "delivered" : "failed", a.outcome === "delivered" ? "delivered" : "dead")),
      h("td", { class: "num" }, a.statusCode ?? "—"), h("td", {}, a.error || "—"),
      h("td", {}, a.responseBody ? h("code", { class: "data" }, a.responseBody) : "—")));
    const result = h("div", { "aria-live": "polite" });
    const resend = (force) => async () => {
      result.replaceChildren(loading("Sending…"));
      try {
        await api("POST", `/dispatches/${encodeURIComponent(id)}/retry`, { query: force ? { force: "true" } : {}, body: {} });
        result.replaceChildren(h("p", { class: "ok" }, "Sent again with the same id. Refreshing…"));
        setTimeout(() => open(id, detail), 1000);
      } catch (error) {
        result.replaceChildren(problem(error));
      }
    };
    detail.replaceChildren(h("section", { class: "card", id: "dispatch" },
      h("div", { class: "heading" }, h("h2", {}, d.id), h("button", { type: "button", class: "link", onclick: () => detail.replaceChildren() }, "Close")),
      h("p", { class: "meta" }, badge(d.status), " ", d.actionType, " to ", h("code", {}, d.target)),
      h("p", { class: "meta" }, "Trigger ", d.triggerId, ` v${d.triggerVersion}`, " · event ",
        h("a", { href: `#/lookup?event=${encodeURIComponent(d.eventId)}` }, d.eventId), " · customer ", d.customerId),
      h("p", { class: "meta" }, "Created ", when(d.createdAt),
        d.nextAttemptAt ? [" · next attempt ", when(d.nextAttemptAt)] : null,
        d.deliveredAt ? [" · delivered ", when(d.deliveredAt)] : null),
      d.lastError ? h("p", { class: "error" }, "Last error: ", d.lastError) : null,
      h("h3", {}, "Attempts"),
      table(["#", "At", "Took", "Outcome", "HTTP", "Error", "Response"], attempts, { empty: "Its first attempt has not settled yet." }),
      h("div", { class: "buttons" },
        ["dead", "retrying"].includes(d.status) ? h("button", { type: "button", class: "primary", id: "resend", onclick: resend(false) }, "Resend now") : null,
        d.status === "delivered" ? h("button", { type: "button", id: "resend", onclick: resend(true) }, "Send again anyway") : null),
      result));
  } catch (error) {
    detail.replaceChildren(problem(error));
  }
}

function confirmBulk(bulk) {
  bulk.replaceChildren(h("div", { class: "card confirm", role: "alertdialog", "aria-label": "Resend all dead dispatches" },
    h("p", {}, "Resend every dead dispatch of this tenant? Each is sent again once, with its own id."),
    h("button", { type: "button", class: "danger", id: "confirm-resend", onclick: async () => {
      bulk.replaceChildren(loading("Resending…"));
      try {
        const answer = await api("POST", "/dispatches/retry", { body: { status: "dead" } });
        bulk.replaceChildren(h("p", { class: "ok", role: "status" }, `${answer.matched} dead dispatch${answer.matched === 1 ? "" : "es"} queued to resend.`));
      } catch (error) {
        bulk.replaceChildren(problem(error));
      }
    } }, "Resend them"),
    h("button", { type: "button", onclick: () => bulk.replaceChildren() }, "Cancel")));
  document.getElementById("confirm-resend").focus();
}
