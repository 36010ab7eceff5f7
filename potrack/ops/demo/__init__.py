"""Demo data: orders flowing WC001→WC005 over 30 days, one operator per department.

The modules, each with one job:

- `loader`: `run_demo`, the entry point of `potrack demo`: checks the count, picks the path, calls the
  others in turn, and prints the summary after the consistency check;
- `operators`: the demo operators (one per active department, created or reset with a fresh password),
  printing them, and the department weights of who records where;
- `orders`: the orders flow plan: the line of work centers, the plan (release rate, time span, order
  numbers), each order's steps, and the timeline / planned movements it yields in time order;
- `flow`: what becomes of each OUT batch in the plan (sent on, a little scrap, now and then rework one
  step back, with reasons), and the ledger's transit replayed over the planned movements;
- `real_path`: writing the movements through the ledger as a kiosk would, then backdating them;
- `fast_path`: bulk-loading them (PostgreSQL COPY, SQLite executemany) and building the balances and
  transit rows (`bulk_sql`: the statements that build them from the sums);
- `progress`: the elapsed time and progress lines the two paths print.

The package may import config, errors, timeutil, db, common, live, ledger, accounts, masters (and
`ops.provision`, in its own room); never nicegui.
"""
