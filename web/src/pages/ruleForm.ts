// What the rule form knows about the rule language: each trigger's name, each action's fields,
// and how a condition tree maps to the form's rows ("all of these tests") when it can.
import type { Schemas } from "../api/client";
import type { Language } from "../i18n";

export type EventKind = Schemas["EventKind"];
export type Action = Schemas["Action"];
export type Condition = Schemas["Condition"];
export type Op = Schemas["Op"];
export type RuleDraft = Schemas["RuleDraft"];

/** Every trigger, named for people; the type makes a new event kind fail to compile here. */
const TRIGGERS: Record<EventKind, [string, string]> = {
  lead_created: ["新线索进入", "A lead comes in"],
  lead_updated: ["线索被修改", "A lead is changed"],
  lead_priority_changed: ["线索优先级变化", "A lead's priority changes"],
  lead_status_changed: ["线索状态变化", "A lead's status changes"],
  lead_assigned: ["线索被分配", "A lead is assigned"],
  lead_first_contacted: ["线索首次联系", "A lead is first contacted"],
  activity_logged: ["记录了跟进", "A follow-up is logged"],
  timer_fired: ["计时器到点", "A timer fires"],
  lead_returned_to_pool: ["线索退回公海", "A lead goes back to the pool"],
  lead_claimed: ["线索被领取", "A lead is claimed"],
  upload_created: ["上传了文件", "A file is uploaded"],
  upload_status_changed: ["文件识别状态变化", "An upload's status changes"],
  deal_created: ["新商机", "A deal is created"],
  deal_updated: ["商机被修改", "A deal is changed"],
  deal_stage_changed: ["商机换阶段", "A deal changes stage"],
  contact_added: ["新增联系人", "A contact is added"],
  contact_updated: ["联系人被修改", "A contact is changed"],
  visit_checked_in: ["拜访签到", "A visit checks in"],
  visit_checked_out: ["拜访签退", "A visit checks out"],
  customer_created: ["新客户", "A customer is created"],
  customer_updated: ["客户被修改", "A customer is changed"],
  customer_merged: ["客户被合并", "Customers are merged"],
  purchase_recorded: ["记录了购买", "A purchase is recorded"],
  shelf_audited: ["货架照片已识别", "A shelf photo is read"],
  sale_tag_spiked: ["销售标签突增", "A sale tag spikes"],
  material_opened: ["客户打开了资料", "A customer opens a material"],
  order_created: ["新订单", "An order is drafted"],
  order_status_changed: ["订单状态变化", "An order's status changes"],
  order_paid: ["订单收到货款", "A payment is received for an order"],
};

export const TRIGGER_KEYS = Object.keys(TRIGGERS) as EventKind[];

export function triggerName(kind: EventKind, language: Language): string {
  return TRIGGERS[kind][language === "zh" ? 0 : 1];
}

export const OPS: Op[] = [
  "eq",
  "ne",
  "in",
  "not_in",
  "gt",
  "gte",
  "lt",
  "lte",
  "between",
  "present",
  "missing",
  "older_than_hours",
  "newer_than_hours",
];

/** Operators that take no value. */
export const UNARY: Op[] = ["present", "missing"];

export type ActionKind = Action["do"];

type FieldKind =
  | { type: "text" }
  | { type: "number" }
  | { type: "bool" }
  | { type: "list" }
  | { type: "choice"; options: string[] };

export interface FieldSpec {
  name: string;
  label: [string, string];
  kind: FieldKind;
  required?: boolean;
}

/** The fields of each action kind, as the form shows them. */
export const ACTIONS: Record<ActionKind, { label: [string, string]; fields: FieldSpec[] }> = {
  create_task: {
    label: ["创建待办", "Create a task"],
    fields: [
      { name: "title", label: ["标题", "Title"], kind: { type: "text" }, required: true },
      {
        name: "why",
        label: ["原因说明（给代表看；{event.字段} 换成当时的值）", "Why (shown to the rep; {event.field} is filled in)"],
        kind: { type: "text" },
      },
      { name: "due_in_hours", label: ["几小时内完成", "Due in hours"], kind: { type: "number" }, required: true },
      { name: "business_hours", label: ["只算工作时间", "Business hours only"], kind: { type: "bool" } },
      { name: "remind_before_hours", label: ["提前几小时提醒", "Remind hours before"], kind: { type: "number" } },
      { name: "escalate_after_hours", label: ["逾期几小时后上报", "Escalate hours after"], kind: { type: "number" } },
    ],
  },
  start_timer: {
    label: ["启动计时器", "Start a timer"],
    fields: [
      { name: "timer", label: ["计时器名称", "Timer name"], kind: { type: "text" }, required: true },
      { name: "after_hours", label: ["几小时后到点", "Fires after hours"], kind: { type: "number" }, required: true },
      { name: "business_hours", label: ["只算工作时间", "Business hours only"], kind: { type: "bool" } },
      { name: "restart", label: ["重新计时", "Restart if running"], kind: { type: "bool" } },
    ],
  },
  cancel_timers: {
    label: ["取消计时器", "Cancel timers"],
    fields: [{ name: "timers", label: ["计时器（逗号分隔）", "Timers (comma-separated)"], kind: { type: "list" }, required: true }],
  },
  notify: {
    label: ["发送通知", "Notify"],
    fields: [
      { name: "to", label: ["通知谁", "To"], kind: { type: "choice", options: ["owner", "manager", "admins", "warehouse"] }, required: true },
      { name: "message", label: ["内容", "Message"], kind: { type: "text" }, required: true },
    ],
  },
  escalate: {
    label: ["上报经理", "Escalate"],
    fields: [{ name: "message", label: ["内容", "Message"], kind: { type: "text" }, required: true }],
  },
  assign: {
    label: ["分配", "Assign"],
    fields: [
      {
        name: "strategy",
        label: ["分配方式", "Strategy"],
        kind: { type: "choice", options: ["round_robin", "least_loaded", "user"] },
        required: true,
      },
      { name: "user", label: ["指定人（用户 ID）", "User (id)"], kind: { type: "text" } },
      { name: "team", label: ["团队（ID）", "Team (id)"], kind: { type: "text" } },
      { name: "only_if_unowned", label: ["仅限无人负责时", "Only if unowned"], kind: { type: "bool" } },
    ],
  },
  set_priority: {
    label: ["设置优先级", "Set priority"],
    fields: [
      { name: "priority", label: ["优先级", "Priority"], kind: { type: "choice", options: ["S", "A", "B", "C"] }, required: true },
    ],
  },
  add_tag: {
    label: ["打标签", "Add a tag"],
    fields: [{ name: "tag", label: ["标签", "Tag"], kind: { type: "text" }, required: true }],
  },
  return_to_pool: {
    label: ["退回公海", "Return to the pool"],
    fields: [{ name: "reason", label: ["原因", "Reason"], kind: { type: "text" }, required: true }],
  },
};

export const ACTION_KINDS = Object.keys(ACTIONS) as ActionKind[];

/** One test row of the form. `value` is what the user typed: JSON when it parses, else text. */
export interface TestRow {
  field: string;
  op: Op;
  value: string;
}

/** The condition as form rows (all must hold), or `null` when it is not that simple (any/not,
 * nesting): the form then edits it as JSON. */
export function toRows(condition: Condition | undefined): TestRow[] | null {
  if (!condition) return [];
  const test = (c: Condition): TestRow | null =>
    "field" in c
      ? { field: c.field, op: c.op, value: c.value === undefined ? "" : JSON.stringify(c.value) }
      : null;
  if ("all" in condition) {
    const rows = condition.all.map(test);
    return rows.every((r) => r !== null) ? (rows as TestRow[]) : null;
  }
  const one = test(condition);
  return one ? [one] : null;
}

/** A typed value: JSON when it parses (`5`, `true`, `["a","b"]`), else the text itself. */
export function parseValue(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}

export function fromRows(rows: TestRow[]): Condition | undefined {
  const tests: Condition[] = rows
    .filter((r) => r.field.trim())
    .map((r) =>
      UNARY.includes(r.op)
        ? { field: r.field.trim(), op: r.op }
        : { field: r.field.trim(), op: r.op, value: parseValue(r.value) },
    );
  return tests.length === 0 ? undefined : { all: tests };
}

/** A fresh action of `kind` with its required fields empty. */
export function blankAction(kind: ActionKind): Action {
  const action: Record<string, unknown> = { do: kind };
  for (const f of ACTIONS[kind].fields) {
    if (!f.required) continue;
    if (f.kind.type === "number") action[f.name] = 24;
    else if (f.kind.type === "list") action[f.name] = [];
    else if (f.kind.type === "choice") action[f.name] = f.kind.options[0];
    else action[f.name] = "";
  }
  return action as unknown as Action;
}
