//go:build nosensors

package main

func init() { testBuildTags = "nosensors" }
