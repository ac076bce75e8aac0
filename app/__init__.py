"""MAML, explained: an interactive article that trains real meta-learners while you read."""
