package main

// testBuildTags are the build tags of this test binary, for tests that
// build fusiond themselves (tags_nosensors_test.go sets them).
var testBuildTags = ""
