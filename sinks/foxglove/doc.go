// Package foxglove is fusiond's live view: a Foxglove WebSocket server
// (protocol foxglove.websocket.v1; the subprotocol name foxglove.sdk.v1 is
// accepted too) that Foxglove connects to as a live source.
//
// Server speaks the protocol: serverInfo, channel advertisements with their
// schemas, subscribe and unsubscribe, and binary Message Data frames
// stamped with capture times (plus Time messages with the time capability,
// for replay). It offers no client publishing, parameters or services: a
// viewer only reads. Each client has a bounded queue; when it is full the
// oldest message is dropped and counted, so a slow viewer loses messages
// and never slows the pipeline, and a client whose socket accepts nothing
// for the write timeout is cut off. Bad client messages are answered with
// an error status and logged once per client.
//
// View puts fusiond's streams on a Server:
//
//	/<camera>/image        foxglove.CompressedImage (JPEG), protobuf
//	/<camera>/annotations  foxglove.ImageAnnotations, protobuf: the seen
//	                       target, the speaking face, the sound's bearing,
//	                       the motion centre, the active kinds
//	/<mic>/audio           foxglove.RawAudio (pcm-s16), protobuf
//	/fusiond/decisions     fusiond.decision.v1, json (its JSON Schema)
//	/fusiond/status        fusiond.status.v1, json (its JSON Schema)
//
// The protobuf schemas are the ones recordings carry (ingest/recording).
// Only subscribed channels cost anything: with nobody subscribed a frame
// costs a lock and an atomic load, and no JPEG is encoded. JPEG encoding
// (OpenCV's, or the standard library's in the nosensors build) runs in
// View.Run, off the pipeline's goroutines, at most ImageFPS per camera.
package foxglove
