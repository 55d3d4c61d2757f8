//! Go's text/template, reimplemented with Go's exact semantics: lexer, parser,
//! executor, Go value printing (`fmt`), builtins and error messages.
