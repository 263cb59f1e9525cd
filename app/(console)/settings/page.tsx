import { Card, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";
import { requirePagePermission } from "@/lib/auth/session";
import { listUsers } from "@/lib/auth/users-data";
import { CreateUserForm } from "./create-user-form";
import { UserRowActions } from "./user-row-actions";

export const metadata = { title: "Settings" };

export default async function SettingsPage() {
  const me = await requirePagePermission("users.manage");
  const users = await listUsers();
  return (
    <>
      <PageHeader title="Settings" description="People who can sign in, and what their role lets them do." />
      <Card title="Add a user" className="mb-6">
        <CreateUserForm />
      </Card>
      <Card title="Users">
        <Table data-testid="users-table">
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Email</Th>
              <Th>Role</Th>
              <Th>Status</Th>
              <Th>Open sessions</Th>
              <Th>Actions</Th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.id}>
                <Td>{user.name}</Td>
                <Td>{user.email}</Td>
                <Td>{user.role}</Td>
                <Td>{user.disabled ? <StatusBadge tone="bad">disabled</StatusBadge> : <StatusBadge tone="ok">active</StatusBadge>}</Td>
                <Td>{user.openSessions}</Td>
                <Td>
                  <UserRowActions userId={user.id} role={user.role} disabled={user.disabled} self={user.id === me.id} />
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
    </>
  );
}
