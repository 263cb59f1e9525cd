import Link from "next/link";
import { attestationTone } from "@/components/fleet/status";
import { Card, EmptyState, PageHeader } from "@/components/ui/card";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table, Td, Th } from "@/components/ui/table";
import { TimeAgo } from "@/components/ui/time";
import { requirePagePermission } from "@/lib/auth/session";
import { listEnclaves } from "@/lib/fleet/fleet-data";

export const metadata = { title: "Attestation" };

export default async function AttestationPage() {
  await requirePagePermission("attestation.view");
  const enclaves = await listEnclaves();
  return (
    <>
      <PageHeader title="Attestation" description="Each enclave's last attestation: verified to the Nitro root, fresh, and matching an approved release." />
      <Card>
        {enclaves.length === 0 ? (
          <EmptyState title="No enclave to attest yet" />
        ) : (
          <Table data-testid="attestation-table">
            <thead>
              <tr>
                <Th>Enclave</Th>
                <Th>Host</Th>
                <Th>State</Th>
                <Th>Last verified</Th>
                <Th>PCR0</Th>
              </tr>
            </thead>
            <tbody>
              {enclaves.map((enclave) => (
                <tr key={enclave.id}>
                  <Td>
                    <Link href={`/enclaves/${encodeURIComponent(enclave.id)}`} className="font-mono text-xs hover:underline">
                      {enclave.name || enclave.id}
                    </Link>
                  </Td>
                  <Td>{enclave.host.name}</Td>
                  <Td>
                    <StatusBadge tone={attestationTone(enclave.attestationState)}>{enclave.attestationState}</StatusBadge>
                  </Td>
                  <Td>
                    <TimeAgo date={enclave.attestationCheckedAt} />
                  </Td>
                  <Td className="font-mono text-xs">{enclave.attestedPcr0 ? `${enclave.attestedPcr0.slice(0, 16)}…` : "—"}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
