// Package sqlstore implements the store.Ops contract once, in SQL that runs
// on both PostgreSQL and SQLite. An adapter supplies a [Querier] over its
// driver and a [Dialect] describing the few places where the two databases
// differ (placeholders, id sets, time encoding, row locks, error codes); the
// operations, their SQL and their scanning are shared, so both adapters
// behave identically by construction and the conformance suite checks it.
package sqlstore
