package models

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// modelsFile is what one file under models/ may hold.
type modelsFile struct {
	Sources      []*Source      `yaml:"sources"`
	Identity     Identity       `yaml:"identity"`
	Traits       []*Trait       `yaml:"traits"`
	Segments     []*Segment     `yaml:"segments"`
	Destinations []*Destination `yaml:"destinations"`
	Syncs        []*Sync        `yaml:"syncs"`
	Consent      *Consent       `yaml:"consent"`
}

// rootOnly are the cohort.yaml keys a models file cannot hold, with the
// hint given when one does. They are the keys of Project that modelsFile
// lacks, so a key added to cohort.yaml gets the hint too.
var rootOnly = func() map[string]string {
	inModels := map[string]bool{}
	for _, f := range fields(reflect.TypeFor[modelsFile]()) {
		inModels[f.name] = true
	}
	out := map[string]string{}
	for _, f := range fields(reflect.TypeFor[Project]()) {
		if !inModels[f.name] {
			out[f.name] = "it belongs in cohort.yaml at the project root"
		}
	}
	return out
}()

// Defaults of cohort.yaml.
const (
	DefaultWarehouseType = "duckdb"
	DefaultWarehousePath = ".cohort/warehouse.duckdb"
	DefaultSchema        = "cohort"
	DefaultState         = ".cohort/state.db"
	DefaultTimezone      = "UTC"
)

// Load reads the project in dir: cohort.yaml and every *.yaml file under
// models/ (any depth, in sorted path order). Decoding is strict; ${NAME} in
// any text is replaced by the environment variable NAME. Every problem of
// every file is returned at once as an ErrorList; the project decoded so far
// is returned with it. Load does not validate: call Validate next.
func Load(dir string) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	p := &Project{Dir: abs, pos: positions{}}
	var errs ErrorList

	data, err := os.ReadFile(filepath.Join(dir, "cohort.yaml"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		errs.add(Pos{File: "cohort.yaml"}, "not found in %s: a project has a cohort.yaml at its root (cohort init creates one)", dir)
	case err != nil:
		errs.add(Pos{File: "cohort.yaml"}, "%v", err)
	default:
		docs := parseFile("cohort.yaml", data, &errs)
		if len(docs) > 1 {
			errs.add(Pos{File: "cohort.yaml", Line: docs[1].GetToken().Position.Line, Col: 1}, "cohort.yaml holds several YAML documents; keep one")
		}
		if len(docs) > 0 {
			d := newDecoder("cohort.yaml", &errs, p.pos)
			d.decodeStruct(docs[0], reflect.ValueOf(p).Elem(), p, "")
		}
	}

	files, err := modelFiles(dir, &errs)
	if err != nil {
		errs.add(Pos{File: "models"}, "%v", err)
	}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			errs.add(Pos{File: rel}, "%v", err)
			continue
		}
		for _, doc := range parseFile(rel, data, &errs) {
			var mf modelsFile
			d := newDecoder(rel, &errs, p.pos)
			d.misplaced = rootOnly
			d.decodeStruct(doc, reflect.ValueOf(&mf).Elem(), &mf, "")
			p.merge(&mf)
		}
	}
	p.applyDefaults()
	return p, errs.err()
}

// modelFiles lists the *.yaml files under dir/models, slash-separated and
// relative to dir, sorted.
func modelFiles(dir string, errs *ErrorList) ([]string, error) {
	root := filepath.Join(dir, "models")
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		switch {
		case e.IsDir():
		case strings.HasSuffix(e.Name(), ".yaml"):
			files = append(files, rel)
		case strings.HasSuffix(e.Name(), ".yml"):
			errs.add(Pos{File: rel}, "not read: only *.yaml files are project files (rename it to %s)", strings.TrimSuffix(e.Name(), ".yml")+".yaml")
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// parseFile parses YAML (or JSON) into its documents' bodies, recording a
// syntax error at its position.
func parseFile(file string, data []byte, errs *ErrorList) []ast.Node {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		type tokened interface {
			GetMessage() string
			GetToken() *token.Token
		}
		var te tokened
		if errors.As(err, &te) && te.GetToken() != nil && te.GetToken().Position != nil {
			tp := te.GetToken().Position
			errs.add(Pos{File: file, Line: tp.Line, Col: tp.Column}, "invalid YAML: %s", te.GetMessage())
		} else {
			errs.add(Pos{File: file}, "invalid YAML: %v", err)
		}
		return nil
	}
	var docs []ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, null := doc.Body.(*ast.NullNode); null {
			continue
		}
		if _, comment := doc.Body.(*ast.CommentGroupNode); comment {
			continue
		}
		docs = append(docs, doc.Body)
	}
	return docs
}

// merge appends one models file's definitions to the project.
func (p *Project) merge(mf *modelsFile) {
	p.Sources = append(p.Sources, mf.Sources...)
	p.Identity.Identifiers = append(p.Identity.Identifiers, mf.Identity.Identifiers...)
	p.Traits = append(p.Traits, mf.Traits...)
	p.Segments = append(p.Segments, mf.Segments...)
	p.Destinations = append(p.Destinations, mf.Destinations...)
	p.Syncs = append(p.Syncs, mf.Syncs...)
	if mf.Consent == nil {
		return
	}
	if p.Consent == nil {
		p.Consent = mf.Consent
		return
	}
	p.Consent.Purposes = append(p.Consent.Purposes, mf.Consent.Purposes...)
	if t := mf.Consent.TransferOutsideEU; t != nil {
		if p.Consent.TransferOutsideEU != nil {
			p.Consent.extraTransfer = append(p.Consent.extraTransfer, t) // Validate reports it
		} else {
			p.Consent.TransferOutsideEU = t
		}
	}
}

func (p *Project) applyDefaults() {
	if p.Warehouse.Type == "" {
		p.Warehouse.Type = DefaultWarehouseType
	}
	if p.Warehouse.Type == "duckdb" && p.Warehouse.Path == "" {
		p.Warehouse.Path = DefaultWarehousePath
	}
	if p.Warehouse.Schema == "" {
		p.Warehouse.Schema = DefaultSchema
	}
	if p.State == "" {
		p.State = DefaultState
	}
	if p.Timezone == "" {
		p.Timezone = DefaultTimezone
	}
}

// UnsavedFile is the file name of definitions parsed from memory.
const UnsavedFile = "<unsaved>"

// ParseSegment decodes one segment definition (YAML, or JSON, which is YAML)
// strictly, as the UI and the API send it; positions have File "<unsaved>".
// Check it against a project with ValidateSegment.
func ParseSegment(data []byte) (*Segment, error) {
	s := &Segment{pos: positions{}}
	ok, err := parseUnsaved(data, "segment", "name and where", s, s.pos)
	if !ok {
		return nil, err
	}
	return s, err
}

// parseUnsaved decodes the one YAML document of data strictly into v (a
// pointer to a what: segment, sync), its positions into pos with File
// "<unsaved>"; need is what an empty one is told to give. ok is false when
// there was no document to decode.
func parseUnsaved(data []byte, what, need string, v any, pos positions) (ok bool, err error) {
	var errs ErrorList
	docs := parseFile(UnsavedFile, data, &errs)
	if len(docs) == 0 && len(errs) == 0 {
		errs.add(Pos{File: UnsavedFile, Line: 1, Col: 1}, "empty %s: give at least %s", what, need)
	}
	if len(docs) > 1 {
		errs.add(Pos{File: UnsavedFile, Line: docs[1].GetToken().Position.Line, Col: 1}, "several YAML documents: send one %s", what)
	}
	if len(docs) == 0 {
		return false, errs.err()
	}
	d := newDecoder(UnsavedFile, &errs, pos)
	pos[posKey{v, ""}] = d.at(docs[0])
	d.decodeStruct(docs[0], reflect.ValueOf(v).Elem(), v, "")
	return true, errs.err()
}
