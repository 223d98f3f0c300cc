#!/usr/bin/python3
"""An example connector for inventory_erp: the client doc/integration.md teaches.

One program, one role per process (run several at once):

  storefront  places orders (erp.place_order, or capture_order + allocate), with
              redeliveries, two storefronts sharing some orders, retries by
              SQLSTATE and lost COMMITs (committed, reply "lost", retried with the
              same idempotency key on a new connection)
  warehouse   picks, packs and ships the orders of erp.pick_queue
  returns     authorizes returns of shipped orders, and works erp.returns_desk:
              receives what is expected, inspects what arrived
  consumer    reads the outbox exactly once (erp.read_events / erp.ack_events),
              crashing on purpose between read and ack
  feed        follows erp.channel_availability_changes, resynchronising after gaps

Each role stops after --seconds, or --orders (storefront), or when --until-file
exists (the followers: they drain what is left, then stop). What a role saw is
written to --out as JSON lines, so test/shell/integration_client.sh can compare it
with the database.

Connection: libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE) or --dsn.
Needs Python 3 and psycopg 3 (Debian: python3-psycopg).
"""

import argparse
import json
import os
import random
import select
import sys
import time

import psycopg

# SQLSTATEs after which the same call may be sent again: the transaction was
# rolled back whole (serialization failure, deadlock victim, a lock the lock
# order forbade waiting for). A lost connection is retried too: the call may or
# may not have committed, and the idempotency key makes the retry safe.
RETRYABLE = {"40001", "40P01", "55P03"}
MAX_ATTEMPTS = 30


class Refused(Exception):
    """inventory_erp refused the call (an IE SQLSTATE): retrying cannot help."""

    def __init__(self, err):
        super().__init__(f"{err.sqlstate}: {err.diag.message_primary}")
        self.sqlstate = err.sqlstate
        self.err = err


def connection_lost(err):
    """True when the error means the connection is gone (the call's fate unknown)."""
    if isinstance(err, psycopg.OperationalError) and err.sqlstate is None:
        return True
    return err.sqlstate is not None and (err.sqlstate.startswith("08") or
                                         err.sqlstate in ("57P01", "57P02", "57P03"))


class Client:
    """One connection that reconnects, and the retry loop every call goes through."""

    def __init__(self, args, role):
        self.args = args
        self.role = role
        self.conn = None
        self.rng = random.Random(f"{args.seed}:{role}:{args.name}")
        self.out = open(args.out, "a", encoding="utf-8") if args.out else None
        self.stats = {}

    def count(self, what, n=1):
        self.stats[what] = self.stats.get(what, 0) + n

    def emit(self, **record):
        if self.out:
            self.out.write(json.dumps(record, sort_keys=True) + "\n")
            self.out.flush()

    def connect(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.args.dsn, autocommit=True,
                                        application_name=f"connector-{self.role}")
        return self.conn

    def drop(self):
        """Closes the connection as a crash or a network cut would."""
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                pass
        self.conn = None

    def call(self, sql, params=(), lose_reply=False):
        """Runs one statement as its own transaction and returns all its rows.

        Retries the statement (the caller put the idempotency key in params, so a
        retry is the same request) after a retryable SQLSTATE or a lost connection;
        raises Refused for an IE SQLSTATE. lose_reply simulates a lost COMMIT: the
        transaction commits, then the reply is thrown away and the connection
        dropped, and the call is sent again on a new connection."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                conn = self.connect()
                if lose_reply and attempt == 1:
                    with conn.transaction():
                        conn.execute(sql, params)
                    self.count("lost_commit")
                    self.drop()
                    continue
                cur = conn.execute(sql, params)
                return cur.fetchall() if cur.description else []
            except psycopg.Error as err:
                if err.sqlstate and err.sqlstate.startswith("IE"):
                    raise Refused(err) from err
                if err.sqlstate in RETRYABLE:
                    self.count("retry_" + err.sqlstate)
                elif connection_lost(err):
                    self.count("retry_connection")
                    self.drop()
                else:
                    raise
                time.sleep(min(0.5, 0.01 * attempt) * (1 + self.rng.random()))
        raise RuntimeError(f"gave up after {MAX_ATTEMPTS} attempts: {sql}")

    def has(self, kind, name):
        """Whether the installed extension has a function or relation (features
        land one by one; the client uses what is there)."""
        sql = ("SELECT to_regproc(%s) IS NOT NULL" if kind == "function"
               else "SELECT to_regclass(%s) IS NOT NULL")
        return self.call(sql, (name,))[0][0]

    def done(self, started):
        return (self.args.seconds and time.monotonic() - started >= self.args.seconds)

    def stop_requested(self):
        return self.args.until_file and os.path.exists(self.args.until_file)

    def finish(self):
        self.emit(kind="stats", role=self.role, name=self.args.name, **self.stats)
        print(f"{self.role} {self.args.name}: " +
              ", ".join(f"{k} {v}" for k, v in sorted(self.stats.items())), file=sys.stderr)


# ---------------------------------------------------------------- storefront

def order_lines(ref, skus):
    """The content of order ref: always the same for the same ref, so that every
    redelivery, from either storefront, carries the same order."""
    rng = random.Random(ref)
    picked = rng.sample(skus, rng.randint(1, min(3, len(skus))))
    return [{"sku": s, "qty": rng.randint(1, 3), "unit_price": 20 + 5 * rng.randint(0, 8)}
            for s in sorted(picked)]


def place(cl, channel, ref, delivery, lines, lose_reply):
    """Places one order, allocated, and returns (order_id, created, status).

    The key names the delivery (a webhook's delivery id): a retry of this
    delivery replays its first reply, created included; another delivery of the
    same order is a redelivery, created = false."""
    key = f"place:{channel}:{delivery}"
    if cl.place_order:
        rows = cl.call("SELECT order_id, created, order_status FROM erp.place_order("
                       "%s, %s, %s::jsonb, idempotency_key => %s)",
                       (channel, ref, json.dumps(lines), key), lose_reply)
        return rows[0][0], rows[0][1], rows[0][2]
    # before place_order: capture (idempotent on channel and external_ref), then
    # allocate while the order waits for stock
    order_id = cl.call("SELECT erp.capture_order(%s, %s, %s::jsonb, idempotency_key => %s)",
                       (channel, ref, json.dumps(lines), key), lose_reply)[0][0]
    status = cl.call("SELECT status::text FROM erp.sales_order WHERE order_id = %s",
                     (order_id,))[0][0]
    if status == "open":
        try:
            cl.call("SELECT count(*) FROM erp.allocate(%s, idempotency_key => %s)",
                    (order_id, f"allocate:{order_id}"))
        except Refused as refusal:
            # the other storefront allocated it in between
            if refusal.sqlstate != "IE010":
                raise
    return order_id, None, None


def run_storefront(cl):
    args = cl.args
    cl.place_order = cl.has("function", "erp.place_order")
    skus = [r[0] for r in cl.call("SELECT sku FROM erp.item WHERE active AND sku LIKE %s "
                                  "ORDER BY sku", (args.sku_prefix + "%",))]
    sent = []
    started = time.monotonic()
    n = 0
    while n < args.orders and not cl.done(started):
        roll = cl.rng.random()
        if sent and roll < args.redeliver:
            ref = cl.rng.choice(sent)            # a webhook redelivered
            cl.count("redelivery")
        elif roll < args.redeliver + args.shared:
            ref = f"S-{cl.rng.randrange(max(1, args.orders // 4))}"   # both storefronts get it
            cl.count("shared")
        else:
            ref = f"{args.name}-{n}"
            n += 1
        lose = cl.rng.random() < args.lose_commit
        delivery = f"{args.name}:{n}:{cl.rng.getrandbits(32):08x}"
        try:
            order_id, created, status = place(cl, args.channel, ref, delivery,
                                              order_lines(ref, skus), lose)
        except Refused as refusal:
            cl.count("refused_" + refusal.sqlstate)
            cl.emit(kind="refused", ref=ref, sqlstate=refusal.sqlstate, message=str(refusal))
            continue
        if ref not in sent:
            sent.append(ref)
        cl.count("acknowledged")
        cl.emit(kind="ack", channel=args.channel, ref=ref, delivery=delivery,
                order_id=order_id, created=created, status=status, lost_commit=lose)
    cl.finish()


# ----------------------------------------------------------------- warehouse

def ready_orders(cl, limit):
    """The next orders to pick, most urgent first (erp.pick_queue: one row per
    order and node with units to pick; --node keeps one node's)."""
    if cl.pick_queue:
        rows = cl.call("SELECT order_id FROM erp.pick_queue WHERE %s::text IS NULL OR node = %s "
                       "LIMIT %s", (cl.args.node, cl.args.node, limit))
    else:                               # before 0.3.0's queue view
        rows = cl.call("SELECT order_id FROM erp.sales_order WHERE status = 'allocated' "
                       "ORDER BY priority DESC, created_at LIMIT %s", (limit,))
    return list(dict.fromkeys(r[0] for r in rows))     # an order held at two nodes: once


def fulfil(cl, order_id):
    """Picks everything the order holds, packs and ships it; each step its own
    transaction with its own idempotency key, so a lost reply is retried safely."""
    to_pick = cl.call(
        "SELECT i.sku, sum(r.qty - r.qty_picked)::bigint FROM erp.reservation r "
        "JOIN erp.item i USING (item_id) WHERE r.order_id = %s GROUP BY i.sku "
        "HAVING sum(r.qty - r.qty_picked) > 0 ORDER BY i.sku", (order_id,))
    if cl.rng.random() < cl.args.wrong_scan:
        try:                                    # the picker scans the wrong shelf
            cl.call("SELECT erp.pick(%s, %s, 1, idempotency_key => %s)",
                    (order_id, "NOT-ON-ORDER", f"pick:{order_id}:wrong"))
        except Refused as refusal:
            cl.count("wrong_scan_" + refusal.sqlstate)
    for sku, qty in to_pick:
        cl.call("SELECT erp.pick(%s, %s, %s, idempotency_key => %s)",
                (order_id, sku, qty, f"pick:{order_id}:{sku}:{qty}"),
                cl.idem and cl.rng.random() < cl.args.lose_commit)
    cl.call("SELECT erp.pack(%s, idempotency_key => %s)", (order_id, f"pack:{order_id}"),
            cl.idem and cl.rng.random() < cl.args.lose_commit)
    shipment = cl.call("SELECT erp.ship(%s, 'DHL', %s, idempotency_key => %s)",
                       (order_id, f"TRK{order_id}", f"ship:{order_id}"),
                       cl.idem and cl.rng.random() < cl.args.lose_commit)[0][0]
    cl.emit(kind="shipped", order_id=order_id, shipment_id=shipment)
    cl.count("shipped")


def run_warehouse(cl):
    cl.pick_queue = cl.has("relation", "erp.pick_queue")
    cl.idem = cl.args.idempotent
    started = time.monotonic()
    while not cl.done(started):
        orders = ready_orders(cl, 20)
        if not orders:
            if cl.stop_requested():
                break
            time.sleep(0.05)
            continue
        for order_id in orders:
            try:
                fulfil(cl, order_id)
            except Refused as refusal:
                # the order moved on under us (cancelled, or picked by another
                # picker): read it again on the next round
                cl.count("refused_" + refusal.sqlstate)
                cl.emit(kind="refused", order_id=order_id, sqlstate=refusal.sqlstate,
                        message=str(refusal))
    cl.finish()


# ------------------------------------------------------------------- returns

def returnable_orders(cl, limit):
    """Shipped orders with no RMA yet; customers send back one in three."""
    return [r[0] for r in cl.call(
        "SELECT o.order_id FROM erp.sales_order o WHERE o.status = 'shipped' "
        "AND o.order_id %% 3 = 0 AND NOT EXISTS (SELECT 1 FROM erp.rma r "
        "WHERE r.order_id = o.order_id) ORDER BY o.order_id LIMIT %s", (limit,))]


def authorize(cl, order_id):
    """Customer service authorizes a return of the order's first shipped line."""
    sku, qty = cl.call("SELECT i.sku, l.qty_shipped FROM erp.order_line l JOIN erp.item i "
                       "USING (item_id) WHERE l.order_id = %s AND l.qty_shipped > 0 "
                       "ORDER BY l.line_no LIMIT 1", (order_id,))[0]
    lines = [{"sku": sku, "qty": min(qty, 1 + order_id % 2), "reason": "too_small"}]
    rma = cl.call("SELECT erp.authorize_return(%s, %s::jsonb, idempotency_key => %s)",
                  (order_id, json.dumps(lines), f"rma:{order_id}"),
                  cl.idem and cl.rng.random() < cl.args.lose_commit)[0][0]
    cl.emit(kind="authorized", order_id=order_id, rma_id=rma)
    cl.count("returned")


def desk_work(cl, limit):
    """The returns desk's queue: (rma_id, expected, to_inspect), oldest first."""
    if cl.returns_desk:
        sql = ("SELECT rma_id, sum(units_expected)::bigint, sum(units_to_inspect)::bigint "
               "FROM erp.returns_desk GROUP BY rma_id ORDER BY min(authorized_at), rma_id LIMIT %s")
    else:                               # before 0.3.0's queue view
        sql = ("SELECT r.rma_id, sum(l.qty - l.qty_received)::bigint, "
               "count(*) FILTER (WHERE l.qty_received > 0 AND l.condition IS NULL)::bigint "
               "FROM erp.rma r JOIN erp.rma_line l USING (rma_id) "
               "WHERE r.status IN ('authorized', 'partially_received', 'received') "
               "GROUP BY r.rma_id ORDER BY r.rma_id LIMIT %s")
    return [r for r in cl.call(sql, (limit,)) if r[1] > 0 or r[2] > 0]


def work_return(cl, rma, expected, to_inspect):
    """The parcel arrives (receive what is expected), then each received line
    is inspected and routed."""
    if expected > 0:
        cl.call("SELECT erp.receive_return(%s, idempotency_key => %s)", (rma, f"receive:{rma}"),
                cl.idem and cl.rng.random() < cl.args.lose_commit)
    for (line,) in cl.call("SELECT rma_line_id FROM erp.rma_line WHERE rma_id = %s "
                           "AND qty_received > 0 AND condition IS NULL ORDER BY rma_line_id",
                           (rma,)):
        condition = cl.rng.choice(["new", "opened", "damaged"])
        disposition = cl.call("SELECT erp.inspect_return(%s, %s, idempotency_key => %s)::text",
                              (line, condition, f"inspect:{line}"))[0][0]
        cl.emit(kind="inspected", rma_id=rma, rma_line_id=line, condition=condition,
                disposition=disposition)


def run_returns(cl):
    cl.idem = cl.args.idempotent
    cl.returns_desk = cl.has("relation", "erp.returns_desk")
    started = time.monotonic()
    while not cl.done(started):
        orders = returnable_orders(cl, 10)
        work = desk_work(cl, 20)
        if not orders and not work:
            if cl.stop_requested():
                break
            time.sleep(0.1)
            continue
        for order_id in orders:
            try:
                authorize(cl, order_id)
            except Refused as refusal:
                cl.count("refused_" + refusal.sqlstate)
                cl.emit(kind="refused", order_id=order_id, sqlstate=refusal.sqlstate,
                        message=str(refusal))
        for rma, expected, to_inspect in work:
            try:
                work_return(cl, rma, expected, to_inspect)
            except Refused as refusal:
                cl.count("refused_" + refusal.sqlstate)
                cl.emit(kind="refused", rma_id=rma, sqlstate=refusal.sqlstate,
                        message=str(refusal))
    cl.finish()


# ------------------------------------------------------------------ consumer

SINK_DDL = """
CREATE TABLE IF NOT EXISTS public.connector_processed_event (
    consumer  text        NOT NULL,
    event_id  bigint      NOT NULL,
    kind      text        NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT clock_timestamp()
)"""


def consume_batch(cl, crash):
    """One batch, exactly once: the events' effects (here: a row each in the
    consumer's own table) and the ack commit in one transaction, so a crash
    anywhere before COMMIT leaves both undone and the batch is read again."""
    conn = cl.connect()
    with conn.transaction():
        rows = conn.execute("SELECT event_id, kind, cursor FROM erp.read_events(%s, %s)",
                            (cl.args.name, cl.args.batch)).fetchall()
        if not rows:
            return 0
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO public.connector_processed_event (consumer, event_id, kind) "
                            "VALUES (%s, %s, %s)", [(cl.args.name, r[0], r[1]) for r in rows])
        if crash:
            # the process dies after reading and processing, before the ack
            raise ConnectionAbortedError
        conn.execute("SELECT erp.ack_events(%s, %s)", (cl.args.name, rows[-1][2]))
    return len(rows)


def wait_for_event(cl, listener, timeout):
    """Waits up to timeout seconds for a NOTIFY erp_event of a kind this consumer
    follows (the payload is {"id", "kind", "node_id"}: filter without reading).
    A notification is only a wake-up: the events themselves always come from
    erp.read_events, so one missed while disconnected loses nothing."""
    if select.select([listener.fileno()], [], [], timeout)[0]:
        listener.execute("SELECT 1")        # receives what arrived; the handler sorts it
    wake = any(not cl.args.wake_kinds or kind is None or kind in cl.args.wake_kinds
               for kind in cl.notified)
    cl.notified.clear()
    return wake


def on_notify(cl):
    def handler(note):
        try:
            kind = json.loads(note.payload).get("kind")
        except (ValueError, AttributeError):
            kind = None                     # 0.2.0's payload: the id alone
        cl.notified.append(kind)
    return handler


def run_consumer(cl):
    if not cl.has("function", "erp.read_events"):
        print("consumer: erp.read_events is not installed: NOT RUN", file=sys.stderr)
        cl.emit(kind="skipped", role="consumer", why="erp.read_events missing")
        return
    cl.call(SINK_DDL)
    cl.notified = []
    listener = psycopg.connect(cl.args.dsn, autocommit=True)
    listener.add_notify_handler(on_notify(cl))
    listener.execute("LISTEN erp_event")
    started = time.monotonic()
    draining = False
    crashed_once = cl.args.crash == 0
    while not cl.done(started):
        # the first batch with events always crashes (when crashes are asked
        # for at all), then a share of them at random
        crash = not crashed_once or cl.rng.random() < cl.args.crash
        try:
            got = consume_batch(cl, crash)
        except ConnectionAbortedError:
            cl.count("crash_before_ack")
            crashed_once = True
            cl.drop()
            continue
        except psycopg.Error as err:
            if err.sqlstate in RETRYABLE or connection_lost(err):
                cl.count("retry_" + (err.sqlstate or "connection"))
                cl.drop()
                continue
            raise
        cl.count("events", got)
        if got:
            continue
        if draining:
            break                   # the writers had stopped before this empty read
        if cl.stop_requested():
            draining = True         # one more read sees everything committed by now
            continue
        wait_for_event(cl, listener, 0.5)
    listener.close()
    cl.finish()


# ---------------------------------------------------------------------- feed

def run_feed(cl):
    if not cl.has("function", "erp.channel_availability_changes"):
        print("feed: erp.channel_availability_changes is not installed: NOT RUN", file=sys.stderr)
        cl.emit(kind="skipped", role="feed", why="erp.channel_availability_changes missing")
        return
    view = {}
    since = None
    started = time.monotonic()
    draining = False
    polls = 0
    while not cl.done(started):
        polls += 1
        # the third poll always loses the cursor (when gaps are asked for at
        # all), then a share of them at random
        if since is not None and cl.args.gap > 0 and (polls == 3 or cl.rng.random() < cl.args.gap):
            since = None                # the feed lost its state: resynchronise
            view = {}
            cl.count("resync")
        try:
            rows = cl.call("SELECT sku, atp, next_since FROM erp.channel_availability_changes(%s, %s)",
                           (cl.args.channel, since))
        except Refused as refusal:
            if refusal.sqlstate != "IE010":
                raise
            since = None                # a cursor older than the history kept: resynchronise
            view = {}
            cl.count("resync_IE010")
            continue
        for sku, atp, next_since in rows:
            if sku is not None:         # nothing changed: one row with the cursor only
                view[sku] = atp
                cl.count("changes")
            since = next_since
        cl.count("polls")
        if draining:
            break
        if cl.stop_requested():
            draining = True             # one last poll after the writers stopped
            continue
        time.sleep(0.1)
    for sku, atp in sorted(view.items()):
        cl.emit(kind="atp", channel=cl.args.channel, sku=sku, atp=atp)
    cl.finish()


ROLES = {"storefront": run_storefront, "warehouse": run_warehouse, "returns": run_returns,
         "consumer": run_consumer, "feed": run_feed}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("role", choices=sorted(ROLES))
    p.add_argument("--dsn", default="", help="libpq connection string (default: PG* environment)")
    p.add_argument("--name", default="main", help="this instance's name (order prefix, consumer name)")
    p.add_argument("--out", help="append what this role saw here, as JSON lines")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    p.add_argument("--orders", type=int, default=100, help="storefront: new orders to place")
    p.add_argument("--until-file", help="followers: drain and stop once this file exists")
    p.add_argument("--channel", default="WEB")
    p.add_argument("--node", help="warehouse: pick this node's orders only (default: all)")
    p.add_argument("--sku-prefix", default="")
    p.add_argument("--seed", default="1")
    p.add_argument("--redeliver", type=float, default=0.15, help="storefront: share of redeliveries")
    p.add_argument("--shared", type=float, default=0.10, help="storefront: share of orders both storefronts get")
    p.add_argument("--lose-commit", type=float, default=0.05, help="share of calls whose COMMIT reply is lost")
    p.add_argument("--idempotent", action="store_true",
                   help="warehouse, returns: lose COMMIT replies too (needs idempotency keys)")
    p.add_argument("--wrong-scan", type=float, default=0.05, help="warehouse: share of orders with a wrong scan first")
    p.add_argument("--crash", type=float, default=0.1, help="consumer: share of batches crashing before the ack")
    p.add_argument("--batch", type=int, default=50, help="consumer: events per read")
    p.add_argument("--wake-kinds", type=lambda s: set(s.split(",")) if s else set(), default=set(),
                   help="consumer: event kinds whose NOTIFY wakes it (default: all)")
    p.add_argument("--gap", type=float, default=0.05, help="feed: share of polls after which it loses its cursor")
    args = p.parse_args()
    cl = Client(args, args.role)
    try:
        ROLES[args.role](cl)
    finally:
        cl.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
