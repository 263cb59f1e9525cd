/** User administration reads (admins only). */
import "server-only";
import { getDb } from "../db/client";
import { requirePermission } from "./session";

export async function listUsers() {
  await requirePermission("users.manage");
  const db = getDb();
  const [users, sessions] = await Promise.all([
    db.user.findMany({ orderBy: { createdAt: "asc" }, select: { id: true, email: true, name: true, role: true, disabled: true, createdAt: true } }),
    db.session.groupBy({ by: ["userId"], where: { expiresAt: { gt: new Date() } }, _count: { _all: true } }),
  ]);
  const open = new Map(sessions.map((row) => [row.userId, row._count._all]));
  return users.map((user) => ({ ...user, openSessions: open.get(user.id) ?? 0 }));
}
