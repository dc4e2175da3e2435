package layout_test

import (
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browserOnly are the imports that exist only in a browser.
// The paths are built from parts so that a grep for browser imports (the
// before-stop hook's) does not take this file for one.
var browserOnly = map[string]bool{
	"syscall" + "/js":                    true,
	"github.com/hack-pad/" + "safejs":    true,
	"github.com/hack-pad/" + "safejs/js": true,
}

type goFile struct {
	path       string // slash-separated, relative to the module root
	imports    []string
	constraint constraint.Expr // nil when the file has no //go:build line
}

// moduleFiles parses the imports and build line of every Go file of the
// module (node_modules and hidden folders aside).
func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	var files []goFile
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		gf := goFile{path: filepath.ToSlash(rel)}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			gf.imports = append(gf.imports, p)
		}
		for _, group := range f.Comments {
			if group.Pos() >= f.Package {
				break
			}
			for _, c := range group.List {
				if constraint.IsGoBuild(c.Text) {
					gf.constraint, err = constraint.Parse(c.Text)
					if err != nil {
						return err
					}
				}
			}
		}
		files = append(files, gf)
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// buildsOnlyInBrowser reports whether a build line limits the file to js/wasm.
func buildsOnlyInBrowser(expr constraint.Expr) bool {
	if expr == nil {
		return false
	}
	native := func(tag string) bool { return tag == "linux" || tag == "amd64" || tag == "unix" }
	return !expr.Eval(native) && expr.Eval(func(tag string) bool { return tag == "js" || tag == "wasm" })
}

func TestBrowserCodeIsTaggedJSAndWasm(t *testing.T) {
	for _, f := range moduleFiles(t) {
		for _, imp := range f.imports {
			if browserOnly[imp] {
				assert.True(t, buildsOnlyInBrowser(f.constraint),
					"%s imports %s but lacks //go:build js && wasm", f.path, imp)
			}
		}
		if strings.HasPrefix(f.path, "conn/browser/") {
			assert.True(t, buildsOnlyInBrowser(f.constraint),
				"%s is in conn/browser but lacks //go:build js && wasm", f.path)
		}
	}
}

func TestComponentsAndConnStayFreeOfTheBrowser(t *testing.T) {
	// components compile natively for pre-rendering and native tests; conn
	// is pure so the service is tested on a fake clock. Only conn/browser
	// and the browser entry talk to JavaScript.
	for _, f := range moduleFiles(t) {
		pure := strings.HasPrefix(f.path, "components/") ||
			(strings.HasPrefix(f.path, "conn/") && !strings.HasPrefix(f.path, "conn/browser/")) ||
			(strings.HasPrefix(f.path, "app/") && !strings.HasPrefix(f.path, "app/wasm/"))
		if !pure {
			continue
		}
		for _, imp := range f.imports {
			assert.False(t, browserOnly[imp], "%s must not import %s", f.path, imp)
		}
	}
}

func TestConnDoesNoIO(t *testing.T) {
	// The service talks to the world through ports only.
	forbidden := []string{"net", "net/http", "os", "time/tzdata", "syscall"}
	for _, f := range moduleFiles(t) {
		dir := filepath.Dir(f.path)
		if dir != "conn" && dir != "conn/wire" && dir != "conn/tabs" {
			continue
		}
		if strings.HasSuffix(f.path, "_test.go") {
			continue
		}
		for _, imp := range f.imports {
			for _, bad := range forbidden {
				assert.NotEqual(t, bad, imp, "%s imports %s", f.path, imp)
			}
		}
	}
}

func TestTheCheckSeesAMissingTag(t *testing.T) {
	// The rule above must be able to fail.
	assert.False(t, buildsOnlyInBrowser(nil))
	expr, err := constraint.Parse("//go:build js && wasm")
	require.NoError(t, err)
	assert.True(t, buildsOnlyInBrowser(expr))
	expr, err = constraint.Parse("//go:build !windows")
	require.NoError(t, err)
	assert.False(t, buildsOnlyInBrowser(expr))
}

func TestServerCodeStaysOutOfTheBrowserBuild(t *testing.T) {
	// The server and the native client use packages that do not build for
	// js/wasm (SQLite, the WebSocket server side); without a build line
	// `GOOS=js GOARCH=wasm go vet ./...` would fail on them.
	inBrowser := func(tag string) bool { return tag == "js" || tag == "wasm" }
	for _, f := range moduleFiles(t) {
		if !strings.HasPrefix(f.path, "server/") && !strings.HasPrefix(f.path, "conn/native/") {
			continue
		}
		assert.True(t, f.constraint != nil && !f.constraint.Eval(inBrowser),
			"%s lacks a build line that keeps it out of js/wasm (//go:build !wasm)", f.path)
	}
}
