// Package train fits the fusion head for `fusiond train`: one logistic
// regression per decision kind and per set of modalities (av, a, v) on the
// decision steps internal/evalrun collects from labelled inputs, each
// kind's head over the features fuse.KindFeatures lists for it with the
// signs physics fixes (Newton's method with an active set), its bias
// calibrated to the best training F1 and capped at fuse.MaxBias; the a and
// v heads are fitted on every step with the other modality removed
// (modality dropout). Deterministic: the same steps give the same model
// file, byte for byte. It is no part of the daemon.
package train
