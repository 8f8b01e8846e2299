// Placeholder until this module's first source file lands; delete when adding one.
