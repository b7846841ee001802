"""The round-trip probe: proves ingress -> Kafka -> worker -> reply topic works."""
