// Triggers: the list, with the API's order, filters and paging and each trigger's counts; and dry runs.

import { api } from "./api.js";
import { badge, field, h, json, loading, problem, show, table, when } from "./dom.js";
import { isAdmin } from "./session.js";

const PAGE = 20;

export async function triggersView() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const status = h("select", { name: "status", id: "filter-status" },
    ["", "active", "paused"].map((s) => h("option", { value: s, selected: params.get("status") === s }, s || "any")));
  const eventType = h("input", { name: "eventType", id: "filter-type", value: params.get("eventType") || "",
    placeholder: "purchase" });
  const list = h("div", {}, loading());
  const offset = Number(params.get("offset") || 0);
  const filters = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    navigate({ status: status.value, eventType: eventType.value.trim(), offset: 0 });
  } }, field("Status", status), field("Event type", eventType), h("button", { type: "submit" }, "Filter"));
  show(h("div", { class: "heading" }, h("h1", {}, "Triggers"),
    h("a", { class: "button primary", href: "#/triggers/new" }, "New trigger")), filters,
    h("p", { class: "sub" }, "Highest priority first: the order the engine evaluates them in."), list);
  try {
    const page = await api("GET", "/triggers", { query: {
      status: params.get("status"), eventType: params.get("eventType"), limit: PAGE, offset } });
    const counts = await Promise.all(page.data.map((t) => api("GET", `/triggers/${t.id}/stats`).catch(() => null)));
    list.replaceChildren(triggerTable(page.data, counts), pager(page.pagination, params));
  } catch (error) {
    list.replaceChildren(problem(error));
  }
}

function navigate(changes) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  for (const [name, value] of Object.entries(changes)) {
    if (value === "" || value === null || value === undefined) params.delete(name);
    else params.set(name, value);
  }
  location.hash = `#/triggers?${params}`;
}

function triggerTable(triggers, counts) {
  const rows = triggers.map((trigger, n) => {
    const stats = counts[n];
    const failed = stats ? stats.dead + stats.retrying : "—";
    return h("tr", { "data-trigger": trigger.id },
      h("td", {}, h("a", { href: `#/triggers/${trigger.id}/edit`, class: "name" }, trigger.name),
        h("div", { class: "sub" }, trigger.id)),
      h("td", {}, trigger.eventType),
      h("td", {}, trigger.actionType),
      h("td", { class: "num" }, trigger.priority),
      h("td", {}, badge(trigger.status)),
      h("td", { class: "num", "data-count": "fired" }, stats ? stats.fired : "—"),
      h("td", { class: "num", "data-count": "failed" }, failed),
      h("td", {}, when(trigger.updatedAt)),
      h("td", { class: "actions" },
        h("a", { href: `#/triggers/${trigger.id}/test` }, "Dry run"),
        h("a", { href: `#/triggers/${trigger.id}/history` }, "History"),
        h("button", { type: "button", class: "link", onclick: () => setStatus(trigger) },
          trigger.status === "active" ? "Pause" : "Activate"),
        isAdmin() ? h("button", { type: "button", class: "link danger", onclick: (event) => remove(trigger, event) },
          "Delete") : null));
  });
  return table(["Name", "Event type", "Action", "Priority", "Status", "Fired", "Failed", "Updated", ""], rows,
    { empty: "No triggers here yet. Create one to start reacting to events." });
}

async function setStatus(trigger) {
  try {
    await api("PUT", `/triggers/${trigger.id}`, { body: { status: trigger.status === "active" ? "paused" : "active" } });
    triggersView();
  } catch (error) {
    show(problem(error));
  }
}

async function remove(trigger, event) {
  const cell = event.target.closest("td");
  cell.replaceChildren(h("span", {}, "Delete it? "),
    h("button", { type: "button", class: "danger", onclick: async () => {
      try {
        await api("DELETE", `/triggers/${trigger.id}`);
        triggersView();
      } catch (error) {
        cell.replaceChildren(problem(error));
      }
    } }, "Delete"),
    h("button", { type: "button", onclick: () => triggersView() }, "Keep"));
}

function pager(pagination, params) {
  const { total, limit, offset } = pagination;
  const last = Math.min(offset + limit, total);
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: offset === 0, onclick: () => navigate({ offset: Math.max(0, offset - limit) }) },
      "Previous"),
    h("span", {}, total ? `${offset + 1}–${last} of ${total}` : "0 of 0"),
    h("button", { type: "button", disabled: !pagination.hasMore, onclick: () => navigate({ offset: offset + limit }) },
      "Next"));
}

// -- dry run ---------------------------------------------------------------------------------

export async function dryRunView(id) {
  show(loading());
  const trigger = await api("GET", `/triggers/${id}`);
  const payload = h("textarea", { name: "eventPayload", id: "payload", rows: 8, spellcheck: "false" },
    JSON.stringify(sampleData(trigger.condition), null, 2));
  const type = h("input", { name: "type", id: "dry-type", value: trigger.eventType.includes(".") ? "" : trigger.eventType });
  const customer = h("input", { name: "customerId", id: "dry-customer", placeholder: "CUST-001" });
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    let data;
    try {
      data = JSON.parse(payload.value);
    } catch (error) {
      result.replaceChildren(problem({ message: `The payload is not JSON: ${error.message}` }));
      return;
    }
    result.replaceChildren(loading("Running…"));
    try {
      const answer = await api("POST", `/triggers/${id}/test`, { body: {
        eventPayload: data, type: type.value.trim(), customerId: customer.value.trim() } });
      result.replaceChildren(dryRunResult(answer));
    } catch (error) {
      result.replaceChildren(problem(error));
    }
  } },
  field("Sample event data (the event's data object)", payload),
  h("div", { class: "row" }, field("Event type", type), field("Customer (to check cooldowns and caps)", customer)),
  h("button", { type: "submit", class: "primary" }, "Run"));
  show(h("div", { class: "heading" }, h("h1", {}, "Dry run: ", h("span", {}, trigger.name)),
    h("a", { href: "#/triggers" }, "Back to triggers")),
  h("p", {}, "Nothing is recorded or sent, and no cooldown is used."), form, result);
}

function sampleData(condition) {
  const data = {};
  const walk = (node) => {
    if (!node) return;
    if (node.field && !node.field.startsWith("$")) data[node.field.split(".")[0]] = Array.isArray(node.value) ? node.value[0] : node.value ?? true;
    for (const child of node.all || node.any || []) walk(child);
    if (node.not) walk(node.not);
  };
  walk(condition);
  return data;
}

function dryRunResult(answer) {
  const rows = answer.trace.map((leaf) => h("tr", { class: leaf.matched ? "ok" : "no" },
    h("td", {}, h("code", {}, leaf.path)), h("td", {}, leaf.field), h("td", {}, leaf.operator),
    h("td", {}, h("code", {}, JSON.stringify(leaf.expected))),
    h("td", {}, leaf.found ? h("code", {}, JSON.stringify(leaf.actual)) : h("em", {}, "missing")),
    h("td", {}, leaf.matched ? badge("yes", "delivered") : badge("no", "dead")), h("td", {}, leaf.reason)));
  return h("section", { class: "card", id: "dry-run-result" },
    h("h2", {}, answer.wouldFire ? badge("would fire", "delivered") : badge("would not fire", "dead")),
    h("p", { class: "reason" }, answer.reason),
    answer.heldBy ? h("p", {}, "Held back by: ", badge(answer.heldBy, "retrying")) : null,
    h("h3", {}, "Trace"),
    table(["Path", "Field", "Operator", "Expected", "Actual", "Matched", "Reason"], rows,
      { empty: "No condition: the trigger fires on every event of its type.", class: "trace" }),
    h("h3", {}, "Config it would send"),
    answer.renderedConfig ? json(answer.renderedConfig) : problem({ message: answer.renderError }));
}
