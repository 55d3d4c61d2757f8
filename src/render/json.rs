//! JSON as Go's encoding/json reads and writes it (sorted keys, HTML-safe
//! escaping, float64 formatting) for `toJson`/`fromJson` and values files.
