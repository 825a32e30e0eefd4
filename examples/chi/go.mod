module github.com/sesamego/sesame/examples/chi

go 1.25.0

require github.com/sesamego/sesame v0.0.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace github.com/sesamego/sesame => ../..
