package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	db, err := sql.Open("duckdb", os.Getenv("DB"))
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range os.Args[1:] {
		t := time.Now()
		rows, err := db.QueryContext(context.Background(), q)
		if err != nil {
			fmt.Println("ERR:", err)
			continue
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			rows.Scan(p...)
			fmt.Println(v...)
		}
		rows.Close()
		fmt.Printf("  [%.2fs] %.60s\n", time.Since(t).Seconds(), q)
	}
}
