// Package layout holds no code: its test checks the rules of the repository
// layout that the compiler does not, so a file that breaks one fails CI.
package layout
