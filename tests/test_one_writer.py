"""One writer: only `tokenapp/services/ledger/writer.py` writes the ledger tables.

The ledger tables are `token_accounts`, `token_transactions`, `token_lots` and `token_draws`. Migrations
are the one exception: a data migration (0008 carrying balances over into lots) runs once, before any app code,
and 0009 defines PostgreSQL's `tokenapp_charge`, which only the writer calls (`charge_in_one_call`).

The ledger's docstring says so; this test reads every module's source (with `ast`) so that it stays true.
A write is: `update(...)`, `insert(...)`, `delete(...)` or `insert_ignoring_conflicts(...)` of
something naming those tables (the models, their `__table__`, or a module-level alias of either),
`Table.update()`-style calls on them, constructing a `TokenAccount` or `TokenTransaction`, assigning
an account column on another object (`account.balance = …`), or raw SQL text that updates, inserts into or deletes from them.
"""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tokenapp"
WRITER = PACKAGE / "services" / "ledger" / "writer.py"
MIGRATIONS = PACKAGE / "migrations"
TABLE_NAMES = {
    "TokenAccount",
    "TokenTransaction",
    "TokenLot",
    "TokenDraw",
    "token_accounts",
    "token_transactions",
    "token_lots",
    "token_draws",
}
WRITE_CALLS = {"update", "insert", "delete", "insert_ignoring_conflicts"}
ACCOUNT_COLUMNS = {"balance", "debt", "lifetime_purchased", "lifetime_spent", "lifetime_bonus", "is_unlimited"}
RAW_WRITE = re.compile(
    r"\b(update|insert\s+into|delete\s+from)\s+[\"`]?(token_accounts|token_transactions|token_lots|token_draws)\b", re.I
)


def _mentions(node: ast.AST, names: set[str]) -> bool:
    for part in ast.walk(node):
        if isinstance(part, ast.Name) and part.id in names:
            return True
        if isinstance(part, ast.Attribute) and part.attr in names:
            return True
        if isinstance(part, ast.Constant) and part.value in names:
            return True
    return False


def _aliases(tree: ast.Module) -> set[str]:
    """The table names plus every module-level name bound to an expression that mentions them."""
    names = set(TABLE_NAMES)
    while True:
        grown = set(names)
        for node in tree.body:
            if (
                isinstance(node, (ast.Assign, ast.AnnAssign))
                and node.value is not None
                and _mentions(node.value, names)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                grown |= {target.id for target in targets if isinstance(target, ast.Name)}
        if grown == names:
            return names
        names = grown


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def ledger_writes(source: str) -> list[str]:
    """Each write of the ledger tables in `source`, as `line: text`."""
    tree = ast.parse(source)
    names = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        hit = False
        if isinstance(node, ast.Call):
            called = _called_name(node)
            arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
            if called in WRITE_CALLS and any(_mentions(argument, names) for argument in arguments):
                hit = True
            elif (
                called in WRITE_CALLS
                and isinstance(node.func, ast.Attribute)
                and _mentions(node.func.value, names)
                and not isinstance(node.func.value, ast.Call)
            ):
                hit = True  # TokenAccount.__table__.update(), _ACCOUNTS.insert()
            elif called in {"TokenAccount", "TokenTransaction", "TokenLot", "TokenDraw"}:
                hit = True
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            hit = any(
                isinstance(target, ast.Attribute)
                and target.attr in ACCOUNT_COLUMNS
                and not (isinstance(target.value, ast.Name) and target.value.id == "self")  # an object's own field
                for target in targets
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            hit = RAW_WRITE.search(node.value) is not None
        if hit:
            found.append(f"{node.lineno}: {ast.unparse(node)[:120]}")
    return found


def test_no_module_but_the_writer_writes_balances_or_ledger_rows():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == WRITER or MIGRATIONS in path.parents:
            continue
        writes = ledger_writes(path.read_text(encoding="utf-8"))
        if writes:
            offenders[str(path.relative_to(PACKAGE.parent))] = writes
    assert offenders == {}, "only tokenapp/services/ledger/writer.py may write the ledger tables"


def test_only_the_writer_calls_the_stored_charge():
    """`tokenapp_charge` (migration 0009) writes the ledger tables: only the writer may call it."""
    callers = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "tokenapp_charge(" in path.read_text(encoding="utf-8") and MIGRATIONS not in path.parents
    ]
    assert callers == ["tokenapp/services/ledger/writer.py"]


def test_the_writer_holds_the_writes():
    writes = ledger_writes(WRITER.read_text(encoding="utf-8"))
    assert len(writes) >= 6, writes  # spend, refund, repay, take back (row and account), move, record, open


def test_the_scan_catches_every_form_of_write():
    caught = [
        "update(TokenAccount).where(TokenAccount.user_id == 1).values(balance=0)",
        "db.session.execute(insert(TokenTransaction.__table__), {})",
        "ACCOUNTS = TokenAccount.__table__\nSTMT = update(ACCOUNTS)",
        "T = TokenTransaction.__table__\nROWS = T\nx = delete(ROWS)",
        "TokenAccount.__table__.update()",
        "insert_ignoring_conflicts(TokenAccount, {'user_id': 1})",
        "db.session.add(TokenTransaction(user_id=1, type='spend', amount=-1, balance_after=0))",
        "account.balance -= 5",
        "account.is_unlimited = True",
        "text('UPDATE token_accounts SET balance = 0')",
        'db.session.execute(text("insert into token_transactions (user_id) values (1)"))',
        "conn.exec_driver_sql('DELETE FROM \"token_transactions\"')",
        "update(TokenLot).values(remaining=0)",
        "LOTS = TokenLot.__table__\nSTMT = insert(LOTS)",
        "db.session.add(TokenDraw(transaction_id=1, lot_id=1, tokens=-1))",
        "text('UPDATE token_lots SET remaining = 0')",
        "text('insert into token_draws values (1, 1, 1, 0)')",
    ]
    for source in caught:
        assert ledger_writes(source), source
    allowed = [
        "select(TokenAccount.balance).where(TokenAccount.user_id == 1)",
        "update(TokenCharge).values(status='refunded')",
        "text('SELECT balance FROM token_accounts')",
        "view.balance + 1",
        "writer.move(tx, user_id, 5, TransactionType.BONUS)",
    ]
    for source in allowed:
        assert not ledger_writes(source), source
