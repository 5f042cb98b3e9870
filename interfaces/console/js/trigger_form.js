// Creating and editing a trigger: every field, the condition in its own editor, and the API's
// field-level errors shown beside the field they name.

import { api } from "./api.js";
import { field, h, loading, problem, show } from "./dom.js";

const ACTIONS = {
  recommend: { decisionFlowId: "df_1", channel: "push" },
  enroll_journey: { journeyId: "journey_001" },
  decision_request: { decisionFlowId: "df_1" },
  webhook: { url: "https://hooks.example.com/in", method: "POST", headers: {}, secret: "" },
};
const TYPES = ["purchase", "cart_abandon", "page_view", "app_open", "support_call", "outcome.recorded", "customer.updated"];
const EXAMPLE_CONDITION = { all: [{ field: "amount", operator: "greater_than", value: 500 }] };

export async function triggerFormView(id) {
  show(loading());
  const trigger = id ? await api("GET", `/triggers/${id}`) : null;
  const controls = {
    name: h("input", { name: "name", id: "name", required: true, maxlength: 200, value: trigger?.name || "" }),
    description: h("textarea", { name: "description", id: "description", rows: 2 }, trigger?.description || ""),
    eventType: h("input", { name: "eventType", id: "eventType", required: true, list: "event-types",
      value: trigger?.eventType || "purchase" }),
    actionType: h("select", { name: "actionType", id: "actionType" }, Object.keys(ACTIONS).map((type) =>
      h("option", { value: type, selected: (trigger?.actionType || "recommend") === type }, type))),
    actionConfig: h("textarea", { name: "actionConfig", id: "actionConfig", rows: 6, spellcheck: "false", class: "code" },
      JSON.stringify(trigger?.actionConfig || ACTIONS.recommend, null, 2)),
    condition: h("textarea", { name: "condition", id: "condition", rows: 10, spellcheck: "false", class: "code" },
      trigger ? (trigger.condition ? JSON.stringify(trigger.condition, null, 2) : "") : JSON.stringify(EXAMPLE_CONDITION, null, 2)),
    priority: h("input", { name: "priority", id: "priority", type: "number", step: 1, value: trigger?.priority ?? 50 }),
    cooldownMs: h("input", { name: "cooldownMs", id: "cooldownMs", type: "number", min: 0, step: 1,
      value: trigger?.cooldownMs ?? 0 }),
    status: h("select", { name: "status", id: "status" }, ["active", "paused"].map((s) =>
      h("option", { value: s, selected: (trigger?.status || "active") === s }, s))),
    ignoreFrequencyCaps: h("input", { name: "ignoreFrequencyCaps", id: "ignoreFrequencyCaps", type: "checkbox",
      checked: trigger?.ignoreFrequencyCaps || false }),
  };
  controls.actionType.addEventListener("change", () => {
    if (!trigger) controls.actionConfig.value = JSON.stringify(ACTIONS[controls.actionType.value], null, 2);
  });
  const conditionCheck = h("div", { class: "hint", "aria-live": "polite" });
  controls.condition.addEventListener("input", () => {
    const text = controls.condition.value.trim();
    try {
      if (text) JSON.parse(text);
      conditionCheck.replaceChildren(text ? "Valid JSON." : "No condition: fires on every event of its type.");
    } catch (error) {
      conditionCheck.replaceChildren(`Not JSON yet: ${error.message}`);
    }
  });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card trigger-form", novalidate: true, onsubmit: (event) => save(event, trigger, controls, status) },
    field("Name", controls.name),
    field("Description", controls.description),
    h("div", { class: "row" },
      field("Event type", controls.eventType, "An ingest type, an internal type, or any lowercase dotted name"),
      field("Action", controls.actionType)),
    field("Action config (JSON; strings may hold Liquid such as {{ event.customerId }})", controls.actionConfig,
      "A webhook's secret and header values are write-only: send them again only to change them."),
    h("div", { class: "field condition-editor", "data-field": "condition" },
      h("label", { for: "condition" }, "Condition"),
      h("div", { class: "toolbar" },
        h("button", { type: "button", onclick: () => format(controls.condition) }, "Format"),
        h("button", { type: "button", onclick: () => { controls.condition.value = JSON.stringify(EXAMPLE_CONDITION, null, 2); } },
          "Example")),
      controls.condition, conditionCheck,
      h("small", { class: "hint" }, "Leaves {field, operator, value}; groups {all: […]}, {any: […]}, {not: {…}}. ",
        "Fields are dot paths into data, or $type, $customerId, $channel, $timestamp."),
      h("div", { class: "field-errors", id: "condition-errors", "aria-live": "polite" })),
    h("div", { class: "row" }, field("Priority", controls.priority), field("Cooldown (ms)", controls.cooldownMs),
      field("Status", controls.status)),
    h("div", { class: "field check" }, controls.ignoreFrequencyCaps,
      h("label", { for: "ignoreFrequencyCaps" }, "Ignore frequency caps (transactional messages)")),
    h("datalist", { id: "event-types" }, TYPES.map((type) => h("option", { value: type }))),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, trigger ? "Save changes" : "Create trigger"),
      h("a", { href: "#/triggers" }, "Cancel")),
    status);
  controls.condition.setAttribute("aria-describedby", "condition-errors");
  show(h("div", { class: "heading" }, h("h1", {}, trigger ? "Edit trigger" : "New trigger"),
    trigger ? h("span", { class: "sub" }, `${trigger.id} · version ${trigger.version}`) : null), form);
  controls.name.focus();
}

function format(textarea) {
  try {
    textarea.value = JSON.stringify(JSON.parse(textarea.value), null, 2);
  } catch {
    // left as typed: the check below the editor says why
  }
}

async function save(event, trigger, controls, status) {
  event.preventDefault();
  for (const box of document.querySelectorAll(".field-errors")) box.replaceChildren();
  const body = {
    name: controls.name.value, description: controls.description.value, eventType: controls.eventType.value.trim(),
    actionType: controls.actionType.value, priority: Number(controls.priority.value),
    cooldownMs: Number(controls.cooldownMs.value), status: controls.status.value,
    ignoreFrequencyCaps: controls.ignoreFrequencyCaps.checked,
  };
  const local = [];
  for (const name of ["actionConfig", "condition"]) {
    const text = controls[name].value.trim();
    try {
      body[name] = text ? JSON.parse(text) : null;
    } catch (error) {
      local.push({ path: name, message: `not JSON: ${error.message}` });
    }
  }
  if (body.actionConfig?.secret === "") delete body.actionConfig.secret;
  if (local.length) {
    placeErrors(local);
    return;
  }
  status.replaceChildren(h("p", { class: "loading" }, "Saving…"));
  try {
    const saved = trigger ? await api("PUT", `/triggers/${trigger.id}`, { body })
      : await api("POST", "/triggers", { body });
    location.hash = `#/triggers?saved=${saved.id}`;
  } catch (error) {
    const unplaced = placeErrors(error.details || []);
    status.replaceChildren(problem({ message: error.message, details: unplaced }));
  }
}

// The API names a field by its path (condition.all[0].value, actionConfig.url, body.name): each
// message goes beside the field its path starts with; the rest below the form.
function placeErrors(details) {
  const unplaced = [];
  for (const detail of details) {
    const name = detail.path.replace(/^body\./, "").split(/[.[]/)[0];
    const box = document.getElementById(`${name}-errors`);
    if (box) box.append(h("p", { role: "alert" }, h("code", {}, detail.path), " ", detail.message));
    else unplaced.push(detail);
  }
  const first = document.querySelector(".field-errors:not(:empty)");
  if (first) document.getElementById(first.id.replace(/-errors$/, ""))?.focus();
  return unplaced;
}
