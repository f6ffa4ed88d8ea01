/// Metric names QueueKit records, in one place.
public enum QueueMetrics {
    /// Counter: successful lease renewals.
    public static let leaseRenewals = "queue_lease_renewals_total"
    /// Counter: leases lost (stale receipt, vanished message, or renewals failing past the timeout).
    public static let leaseLosses = "queue_lease_losses_total"
    /// Counter: renewals carried out whose answer was lost (the message stays held until its
    /// visibility ends, then returns).
    public static let leaseReceiptsLost = "queue_lease_receipts_lost_total"
}
