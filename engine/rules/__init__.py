"""The rule pipeline: model → validate → compile → runtime (durable_rules) → table → evaluate → explain,
plus the static analysis and the rulebook that ties a folder of rule sets together.

Pure core: no Flask, no database, no background threads (the runtime's lock is the one exception,
containing durable_rules' crash under concurrent calls).
"""
