// A trigger's history: every version with who and when, and two versions side by side.

import { api } from "./api.js";
import { badge, field, h, loading, show, table, when } from "./dom.js";

export async function historyView(id) {
  show(loading());
  const entries = (await api("GET", `/triggers/${id}/history`)).data;
  const states = statesOf(entries);
  const versions = entries.map((e) => e.version);
  const pick = (name, chosen) => h("select", { name, id: name }, versions.map((v) =>
    h("option", { value: v, selected: v === chosen }, `version ${v}`)));
  const left = pick("left", versions[Math.max(0, versions.length - 2)]);
  const right = pick("right", versions[versions.length - 1]);
  const comparison = h("div", {});
  const compare = () => comparison.replaceChildren(sideBySide(states, Number(left.value), Number(right.value)));
  left.addEventListener("change", compare);
  right.addEventListener("change", compare);
  const rows = entries.map((entry) => h("tr", {},
    h("td", { class: "num" }, entry.version), h("td", {}, badge(entry.change)), h("td", {}, entry.actor),
    h("td", {}, when(entry.at)), h("td", {}, Object.keys(entry.fields).join(", ") || "—")));
  show(h("div", { class: "heading" }, h("h1", {}, "History: ", h("span", {}, states.get(versions.at(-1))?.name || id)),
    h("a", { href: "#/triggers" }, "Back to triggers")),
  table(["Version", "Change", "By", "When", "Fields"], rows),
  h("section", { class: "card" }, h("h2", {}, "Compare"),
    h("div", { class: "row" }, field("From", left), field("To", right)),
    comparison));
  compare();
}

// Each version's settings, folded from the changes: the history alone tells them, deleted triggers too.
function statesOf(entries) {
  const states = new Map();
  let state = {};
  for (const entry of entries) {
    if (entry.change === "created" || entry.change === "updated") state = { ...state, ...entry.fields };
    if (entry.change === "paused") state = { ...state, status: "paused" };
    if (entry.change === "activated") state = { ...state, status: "active" };
    if (entry.change === "deleted") state = { ...state, deleted: true };
    states.set(entry.version, state);
  }
  return states;
}

function sideBySide(states, from, to) {
  const before = states.get(from) || {};
  const after = states.get(to) || {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const show = (value) => h("pre", { class: "json" }, value === undefined ? "—" : JSON.stringify(value, null, 2));
  const rows = names.map((name) => {
    const changed = JSON.stringify(before[name]) !== JSON.stringify(after[name]);
    return h("tr", { class: changed ? "changed" : "" }, h("th", { scope: "row" }, name),
      h("td", {}, show(before[name])), h("td", {}, show(after[name])));
  });
  return table(["Field", `Version ${from}`, `Version ${to}`], rows, { class: "diff" });
}
