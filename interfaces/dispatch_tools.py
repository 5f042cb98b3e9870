"""`tripcord dispatches list|retry`: the dispatch log from a shell, on the service's database.

A retry here makes the dispatches due now; the relay of any running `tripcord serve` on the same
database delivers each once (claims are leases in the database), as after POST /dispatches/retry.
"""

import json
import time

from application.records import DispatchFilter
from domain.dispatch import DEAD, DELIVERED, RETRYING
from infrastructure.settings import Settings
from infrastructure.sql.dispatch_log import SqlDispatchLog
from interfaces.database import opened
from interfaces.delivery_schemas import epoch_ms
from interfaces.dispatch_handlers import present


def run(settings: Settings, args) -> int:
    try:
        since, until = epoch_ms(args.since), epoch_ms(args.until)
    except ValueError as error:
        raise SystemExit(f"tripcord: --since and --until {error}") from None
    with opened(settings) as database:
        log = SqlDispatchLog(database)
        if args.action == "list":
            where = DispatchFilter(status=args.status, trigger_id=args.trigger, since_ms=since, until_ms=until)
            for record in log.page(args.tenant, where, None, args.limit):
                print(json.dumps(present(record)))
            return 0
        if args.status == DELIVERED and not args.force:
            raise SystemExit("tripcord: delivered dispatches are resent only with --force")
        statuses = [args.status] if args.id is None else [DEAD, RETRYING] + ([DELIVERED] if args.force else [])
        now_ms = int(time.time() * 1000)
        matched = sum(log.resend(args.tenant, status, args.trigger, since, until, now_ms, args.id)
                      for status in statuses)
    print(f"{matched} dispatch{'es' if matched != 1 else ''} due now; a running tripcord serve delivers them")
    return 0 if matched or args.id is None else 1
