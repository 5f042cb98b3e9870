"""The benchmark tenant's active triggers (100 by default): every event type, mixed conditions and cooldowns."""

EVENT_TYPES = ["purchase", "cart_abandon", "page_view", "app_open", "support_call",
               "outcome.recorded", "customer.updated"]
ACTIONS = [("recommend", {"decisionFlowId": "df_bench", "channel": "push"}),
           ("enroll_journey", {"journeyId": "j_bench"}),
           ("decision_request", {"decisionFlowId": "df_decide"})]
CONDITIONS = [
    {"field": "amount", "operator": "greater_than", "value": 990},
    {"all": [{"field": "$channel", "operator": "equals", "value": "pos"},
             {"field": "amount", "operator": "between", "value": [500, 520]}]},
    {"field": "sku", "operator": "in", "value": ["SKU-1", "SKU-2"]},
    {"any": [{"field": "cart.items.0.sku", "operator": "equals", "value": "A-1"},
             {"field": "url", "operator": "ends_with", "value": "/p/7"}]},
    {"not": {"field": "amount", "operator": "less_than", "value": 995}},
    {"field": "missing.field", "operator": "exists"},
    {"field": "url", "operator": "starts_with", "value": "/q/"},
]


def bench_triggers(count: int = 100) -> list[dict]:
    triggers = []
    for n in range(count):
        action_type, config = ACTIONS[n % len(ACTIONS)]
        triggers.append({
            "name": f"bench-{n:03d}",
            "eventType": EVENT_TYPES[n % len(EVENT_TYPES)],
            "actionType": action_type,
            "actionConfig": config,
            "condition": CONDITIONS[(n // len(EVENT_TYPES)) % len(CONDITIONS)],
            "priority": n % 10 * 10,
            "cooldownMs": 60_000 if n % 2 else 0,
        })
    return triggers
