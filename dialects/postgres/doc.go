// Package postgres is the PostgreSQL warehouse, through pgx/v5's database/sql driver.
package postgres
