"""What an event schema and a templated action cost per event, in-process.

    python -m bench.schemas [--rounds 20000]

Validation: a 10-property draft 2020-12 schema, compiled once as the service does
(infrastructure.json_schemas, jsonschema-rs), against the pure-Python `jsonschema` when it is
installed (the dev extra brings it). Templates: a webhook config with three Liquid templates,
rendered per fire as application.deliveries does, against the same config without templates.
"""

import argparse
import time

from infrastructure.json_schemas import JsonSchemaCompiler
from infrastructure.templates import LiquidTemplates

SCHEMA = {
    "type": "object",
    "required": ["orderId", "amount", "currency"],
    "properties": {
        "orderId": {"type": "string", "pattern": "^ORD-[0-9]+$"},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "sku": {"type": "string", "maxLength": 64},
        "quantity": {"type": "integer", "minimum": 1},
        "coupon": {"type": ["string", "null"]},
        "store": {"type": "string"},
        "giftWrap": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
        "cart": {"type": "object", "properties": {"items": {"type": "array"}}},
    },
}
VALID = {"orderId": "ORD-789", "amount": 129.99, "currency": "EUR", "sku": "SKU-1", "quantity": 2, "coupon": None,
         "store": "paris-1", "giftWrap": False, "tags": ["vip", "app"], "cart": {"items": [{"sku": "A-1"}]}}
INVALID = {**VALID, "amount": -1, "currency": "JPY"}
PLAIN = {"url": "https://hooks.example.com/in", "method": "POST", "headers": {"X-Team": "growth"}}
TEMPLATED = {"url": "https://hooks.example.com/customers/{{ event.customerId }}", "method": "POST",
             "headers": {"X-Team": "growth"},
             "body": {"text": "Thanks {{ event.data.name | default: 'there' }} for order {{ event.data.orderId }}",
                      "amount": "{{ event.data.amount | times: 100 | round }}"}}
CONTEXT = {"event": {"id": "evt_1", "type": "purchase", "customerId": "CUST-001", "channel": "web",
                     "timestamp": "2026-12-02T10:00:00.000Z", "receivedAt": "2026-12-02T10:00:00.000Z",
                     "data": {**VALID, "name": "Ada"}},
           "trigger": {"id": "tr_1", "name": "thanks", "version": 1}}


def per_call_us(fn, rounds: int) -> float:
    for _ in range(min(1000, rounds)):
        fn()
    best = float("inf")
    for _ in range(5):  # the best of five runs: the cost, not the machine's noise
        started = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, time.perf_counter() - started)
    return best / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds

    compiled = JsonSchemaCompiler().compile(SCHEMA)
    print(f"schema, 10 properties, jsonschema-rs: valid {per_call_us(lambda: compiled.problems(VALID), rounds):.2f} µs, "
          f"invalid (2 problems named) {per_call_us(lambda: compiled.problems(INVALID), rounds):.2f} µs")
    try:
        import jsonschema
    except ImportError:
        print("schema, pure-Python jsonschema: not installed (pip install -e '.[dev]')")
    else:
        validator = jsonschema.Draft202012Validator(SCHEMA)
        slow = per_call_us(lambda: list(validator.iter_errors(VALID)), max(1, rounds // 20))
        print(f"schema, 10 properties, pure-Python jsonschema: valid {slow:.2f} µs")

    templates = LiquidTemplates()
    plain, templated = templates.compile(PLAIN), templates.compile(TEMPLATED)
    print(f"action config, no template: {per_call_us(lambda: plain.render(CONTEXT), rounds):.2f} µs per fire; "
          f"three Liquid templates: {per_call_us(lambda: templated.render(CONTEXT), rounds):.2f} µs per fire")
    print(f"rendered: {templated.render(CONTEXT)}")


if __name__ == "__main__":
    main()
