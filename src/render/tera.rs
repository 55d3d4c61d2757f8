//! The Tera engine for charts whose Chart.yaml says `engine: tera`, given the
//! same context as Go templates (Values, Release, Chart, Capabilities, Files).
