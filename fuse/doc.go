// Package fuse turns bundles into decisions.
//
// Activity is the first fusion: from each bundle it measures video motion
// (how much the frame's luma changed from the previous frame beyond sensor
// noise, on a coarse grid, and where) and the audio level (RMS in dBFS), and once per decision
// interval of capture time it decides whether there is activity. Each
// modality's evidence is a signed log-odds, weight × (measure − reference);
// with the prior they sum to the decision's logit, so the contributions say
// exactly which modality drove it. A modality absent from every bundle of an
// interval contributes nothing, is listed as missing, and the decision is
// flagged degraded.
//
// Activity is a pure function of the bundles pushed into it; Run wraps it as
// a pipeline stage.
package fuse
