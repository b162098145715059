package configs

import _ "embed"

// ShippedModel is configs/models/fusion-head.txt, the trained fusion head
// fuse.decisions.model "shipped" names (reproduced by `make train`).
//
//go:embed models/fusion-head.txt
var ShippedModel []byte

// ShippedModelPath is where ShippedModel lives in the repository.
const ShippedModelPath = "configs/models/fusion-head.txt"
