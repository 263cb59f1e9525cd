import { Card, EmptyState, PageHeader } from "@/components/ui/card";

/** A section whose data source has not delivered anything yet: say what will appear here and where it comes from. */
export function SectionWithoutData({ title, description, source, children }: { title: string; description: string; source: string; children?: React.ReactNode }) {
  return (
    <>
      <PageHeader title={title} description={description} />
      <Card>
        <EmptyState title="No data collected yet">
          <p>Source: {source}</p>
          {children}
        </EmptyState>
      </Card>
    </>
  );
}
