package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/seed-4c364652/fusiond/internal/evalrun"
	"github.com/seed-4c364652/fusiond/internal/train"
)

func cmdTrain(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("train", "[--out FILE] [--real DIR] [INPUTS...]",
		"Fit the fusion head (one logistic regression per decision kind and per set of modalities: av, a, v)\n"+
			"on labelled inputs and write the model file. INPUTS are media files, MCAP recordings or synthetic\n"+
			"scenes, each with an Audacity label track beside it (NAME.txt), as for eval; default: the synthetic\n"+
			"train scenes ("+evalrun.ScenesDir+"/train). --real DIR adds the train split of DIR/manifest.tsv (choose constants on\n"+
			"its validation split with eval; never look at the test split until the end). Every frame-rate step is a sample; the a and v heads are fitted on every step\n"+
			"with the other modality removed (modality dropout).",
		[]string{"fusiond train --out configs/models/fusion-head.txt", "fusiond train --out my-head.txt robot1.mcap robot2.mcap"}, stdout)
	out := fs.String("out", "configs/models/fusion-head.txt", "model file to write")
	real := fs.String("real", "", "also fit on the train clips of `DIR`/manifest.tsv")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "fusiond train: %v\n", err)
		return 1
	}
	inputs, err := evalrun.Inputs(fs.Args(), "", "", "", "train")
	if err != nil {
		return fail(err)
	}
	if *real != "" {
		more, err := evalrun.Inputs(nil, "", *real, "train", "")
		if err != nil {
			return fail(err)
		}
		inputs = append(inputs, more...)
	}
	steps, err := evalEnv().CollectSteps(inputs, nil)
	if err != nil {
		return fail(err)
	}
	m, err := train.Fit(steps)
	if err != nil {
		return fail(err)
	}
	var b bytes.Buffer
	train.Write(&b, m, len(inputs), len(steps)) // a bytes.Buffer does not fail
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d inputs, %d steps\n", *out, len(inputs), len(steps))
	return 0
}
