-- The read model of payments for the ingress: the contract between the two deployables.
--
-- The processors own the `payments` and `refunds` tables and may change them freely;
-- the ingress reads only these views (ingress/payments_view.py), which keep their
-- columns and meaning. A change to them is a change of both deployables together.
-- Identity columns and a partner-visible state only: no request hash, no reply
-- addresses, nothing about the payments service's view of the payment.

CREATE OR REPLACE VIEW payment_status_view AS
SELECT partner, transaction_id, payment_id, status, decline_reason, amount, currency,
       refunded_total
FROM payments;

CREATE OR REPLACE VIEW refund_status_view AS
SELECT r.partner, r.refund_id, r.payment_id, r.transaction_id, r.amount, r.status,
       p.refunded_total
FROM refunds r JOIN payments p USING (payment_id);
