"""Consumer group ids that more than one process needs to know."""

# The processors' Faust app id, which is also their consumer group (the launcher's topic
# janitor reads its committed offsets).
PROCESSORS_GROUP = "taxi-processors"
