"""Registry stores: DynamoDB (deployed) and memory (tests); both pass the same conformance suite."""
