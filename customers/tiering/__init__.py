"""Tiering: which of the four tiers each customer belongs in, and why.

- `rules`: the rules of domain.md as pure functions over a customer's measures (`decide_customer_tier`),
  the thresholds in force, hysteresis and the words that explain a decision.
- `models`: the policy versions, the classification runs and every tier change (re-exported by
  `customers.models`, so their app label stays `customers`).
- `services`: the policy's versions and the pins a supervisor sets by hand.
- `classification`: a run over every customer, chunk by chunk (`classification_run_start`,
  `reclassify_range`), and `tasks` for the worker.
- `api`, `views`: the endpoints and pages of the above, and the customer page's tier section.
"""
