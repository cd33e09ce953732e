-- Indexes for the dashboard's day buckets (app/reports): verifications are
-- counted from the customer activity by type and day, deactivations by
-- clients from activations by the day they happened. Customers, licenses and
-- activation attempts already have their created_at indexes (0003).
CREATE INDEX customer_activity_type_created_at_idx ON customer_activity (type, created_at);
CREATE INDEX activations_client_deactivated_at_idx ON activations (deactivated_at)
    WHERE deactivation_reason = 'client';
