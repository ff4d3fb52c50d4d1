// What a user's role means for the screens (the server decides what they may do).
import type { Schemas, User } from "./api/client";

/** Managers and admins: they see the team's pages and approve others' work. */
export function oversees(me: User): boolean {
  return me.role === "manager" || me.role === "admin";
}

/** Warehouse and purchasing: no sales records of their own; their work is orders and stock. */
export function backOffice(me: User): boolean {
  return me.role === "warehouse" || me.role === "purchasing";
}

/** The spreadsheets a person may import (the server checks again): managers and admins the
 * sales records and the catalogue, the warehouse its stock counts. */
export function importKinds(me: User): Schemas["ImportKind"][] {
  if (oversees(me)) return ["customers", "leads", "orders", "skus", "stock"];
  if (me.role === "warehouse") return ["stock"];
  return [];
}
