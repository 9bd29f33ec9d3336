#!/usr/bin/python3
"""OpenCV's time for the work bench/haar_bench.cpp measures: detectMultiScale on bbt1.jpg with
haarcascade_frontalface_alt.xml, scaleFactor 1.1, minNeighbors 3, one thread.

    /usr/bin/python3 bench/haar_opencv_reference.py [path/to/shared]
"""
import os
import sys
import time

import cv2

cv2.setNumThreads(1)
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared')
photo = os.path.join(shared, 'data', 'faces', 'bbt1.jpg')
cascade = cv2.CascadeClassifier('/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt.xml')
grey = cv2.cvtColor(cv2.imread(photo), cv2.COLOR_BGR2GRAY)
cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3)  # warm-up
# Wall time and CPU time (the latter is steadier on a shared machine; Google Benchmark reports both).
times, cpu_times = [], []
deadline = time.perf_counter() + 3.0
while time.perf_counter() < deadline or len(times) < 5:
    start, cpu_start = time.perf_counter(), time.process_time()
    faces = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3)
    times.append(time.perf_counter() - start)
    cpu_times.append(time.process_time() - cpu_start)
times.sort()
cpu_times.sort()
print('OpenCV %s detectMultiScale %dx%d, %d faces, %d thread(s), %d runs: wall median %.1f ms (min %.1f), '
      'CPU median %.1f ms (min %.1f)'
      % (cv2.__version__, grey.shape[1], grey.shape[0], len(faces), cv2.getNumThreads(), len(times),
         1000 * times[len(times) // 2], 1000 * times[0], 1000 * cpu_times[len(cpu_times) // 2],
         1000 * cpu_times[0]))
