/* results_internal.h - what the files of results/ share beyond results.h:
 * the schema version and its migration (migrate.c), the analysis rows
 * written with a run (runextra.c). Internal to results/. */
#ifndef THAW_RESULTS_INTERNAL_H
#define THAW_RESULTS_INTERNAL_H

#include <sqlite3.h>

#include "results.h"

/* PRAGMA user_version of a database this thaw writes. 0: the first schema
 * (no run_params, scenario_texts, models, nodes). */
#define RES_SCHEMA_VERSION 1

/* Brings a database that schema.sql was just applied to up to
 * RES_SCHEMA_VERSION (backfilling what older runs lack), and (re)creates the
 * run_summary view when the metric names changed. Writes nothing when the
 * database is already current. THAW_EINVAL for a newer database. */
int res_migrate(sqlite3 *db, struct thaw_err *err);

/* What version 1 adds, for runs that lack it (idempotent, inside the
 * caller's transaction): run_params from runs.params, nodes from gpus. Also
 * run by res_merge after copying runs of an older database. */
int res_migrate_backfill(sqlite3 *db, struct thaw_err *err);

/* Inside res_run_begin's transaction: run_params from info->params, the
 * models and nodes names of spec, and the scenario file's bytes (when the
 * file can be read; nothing otherwise). */
int res_runextra_insert(sqlite3 *db, int64_t run, const struct core_spec *spec,
                        const struct res_run_info *info, struct thaw_err *err);

/* Splits "k=v;k=v" into run_params rows of run (INSERT OR REPLACE). */
int res_runextra_params(sqlite3 *db, int64_t run, const char *params, struct thaw_err *err);

/* ladder.c: rebuilds a loads table whose source CHECK predates the
 * storage ladder's sources (rows and columns kept); nothing when current. */
int res_ladder_migrate(sqlite3 *db, struct thaw_err *err);

#endif
