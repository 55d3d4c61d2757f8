//! The Sprig function library as Helm ships it (strings, lists, dicts, math,
//! conversions, regex, semver, encodings, hashes, dates, random, crypto).
