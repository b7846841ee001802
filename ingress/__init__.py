"""The thin HTTP ingress: validates, authenticates, publishes to Kafka, answers from replies."""
