// Package examples holds runnable examples of mounting Sesame in the
// standard ServeMux and in chi, and compiled notes for echo and gin, in a
// module of its own so that the main module never depends on a web
// framework. Its tests also type-check the snippets of docs/ that use one.
package examples
