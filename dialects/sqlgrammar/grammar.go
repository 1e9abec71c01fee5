package sqlgrammar

import (
	"fmt"
	"strings"

	"github.com/antlr4-go/antlr/v4"
	"github.com/bytebase/parser/googlesql"
	"github.com/bytebase/parser/snowflake"
)

// Error is one syntax error the grammar found.
type Error struct {
	Line, Column int
	Msg          string
}

func (e Error) String() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

type listener struct {
	*antlr.DefaultErrorListener
	errs []Error
}

func (l *listener) SyntaxError(_ antlr.Recognizer, _ any, line, column int, msg string, _ antlr.RecognitionException) {
	l.errs = append(l.errs, Error{Line: line, Column: column, Msg: msg})
}

// Snowflake parses a script of Snowflake statements (separated by ;) and
// returns its syntax errors.
func Snowflake(sql string) []Error {
	return parse(sql, func(mode int, l *listener) {
		lex := snowflake.NewSnowflakeLexer(antlr.NewInputStream(sql))
		lex.RemoveErrorListeners()
		lex.AddErrorListener(l)
		p := snowflake.NewSnowflakeParser(antlr.NewCommonTokenStream(lex, antlr.TokenDefaultChannel))
		setup(p.BaseParser, p.GetInterpreter(), mode, l)
		p.Snowflake_file()
	})
}

// GoogleSQL parses a script of BigQuery (GoogleSQL) statements and returns
// its syntax errors.
func GoogleSQL(sql string) []Error {
	return parse(sql, func(mode int, l *listener) {
		lex := googlesql.NewGoogleSQLLexer(antlr.NewInputStream(sql))
		lex.RemoveErrorListeners()
		lex.AddErrorListener(l)
		p := googlesql.NewGoogleSQLParser(antlr.NewCommonTokenStream(lex, antlr.TokenDefaultChannel))
		setup(p.BaseParser, p.GetInterpreter(), mode, l)
		p.Root()
	})
}

func setup(p *antlr.BaseParser, sim *antlr.ParserATNSimulator, mode int, l *listener) {
	p.RemoveErrorListeners()
	p.AddErrorListener(l)
	p.BuildParseTrees = false
	sim.SetPredictionMode(mode)
}

// parse runs the fast SLL prediction first, which is right for almost every
// input, and the full LL one only when it fails (the two-stage parsing
// ANTLR recommends): full LL on every statement took minutes.
func parse(sql string, run func(mode int, l *listener)) []Error {
	l := &listener{DefaultErrorListener: antlr.NewDefaultErrorListener()}
	run(antlr.PredictionModeSLL, l)
	if len(l.errs) == 0 {
		return nil
	}
	l = &listener{DefaultErrorListener: antlr.NewDefaultErrorListener()}
	run(antlr.PredictionModeLL, l)
	return l.errs
}

// Check parses sql with the grammar of the named dialect; ok is false when
// there is no grammar for it here.
func Check(dialect, sql string) (errs []Error, ok bool) {
	switch strings.ToLower(dialect) {
	case "snowflake":
		return Snowflake(sql), true
	case "bigquery":
		return GoogleSQL(sql), true
	}
	return nil, false
}
