#!/usr/bin/python3
"""OpenCV's own loop over a video, the reference for `fer video`'s speed (bench/video_speed.sh):
cv2.VideoCapture decodes each frame, cvtColor makes it grey, CascadeClassifier.detectMultiScale
finds the faces (haarcascade_frontalface_alt.xml, scaleFactor 1.1, minNeighbors 3, as fer's
defaults). Detection only: no classification, tracking or encoding. Decoding and detection are
timed separately; prints one line.

    /usr/bin/python3 bench/video_opencv_reference.py VIDEO [THREADS]
"""
import sys
import time

import cv2

threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
cv2.setNumThreads(threads)
cascade = cv2.CascadeClassifier('/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml')
capture = cv2.VideoCapture(sys.argv[1])
frames = faces = 0
decode = detect = 0.0
start = time.perf_counter()
while True:
    t0 = time.perf_counter()
    ok, frame = capture.read()
    t1 = time.perf_counter()
    decode += t1 - t0
    if not ok:
        break
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    faces += len(cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3))
    detect += time.perf_counter() - t1
    frames += 1
wall = time.perf_counter() - start
print('opencv %s: %d frames, %d faces in %.2f s: %.2f fps; decoding %.2f s, detection %.2f s, %d threads'
      % (cv2.__version__, frames, faces, wall, frames / wall, decode, detect, cv2.getNumThreads()))
