#!/usr/bin/env python3
"""Statistics files with strings beside their arrays, as NumPy writes them:
    /usr/bin/python3 test/golden/make_npz_text.py

stats_text.npz: mu and sigma (3-d), `features` as a str array ('<U', UTF-32), `origin` as a bytes array
('|S'), `note` as a str with characters outside ASCII; stats_text_list.npz: `features` an array of two
strings and `n` an integer, which gantry passes over (it reads single strings and float arrays);
stats_int.npz: `mu` of integers, which it refuses. gantry's stats files record their feature network in
`features` so (a 0-d '<U' array); pytorch-fid reads mu and sigma and ignores the rest.
"""
import os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
mu = np.array([0.5, -1.0, 2.0])
sigma = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.25], [0.0, 0.25, 3.0]])
np.savez(os.path.join(HERE, 'stats_text.npz'), mu=mu, sigma=sigma, features=np.array('classifier-0123456789ab'),
         origin=np.array(b'folder:/data/faces'), note=np.array('caf\u00e9 \u2713 \U0001F600'))
np.savez(os.path.join(HERE, 'stats_text_list.npz'), mu=mu, sigma=sigma, features=np.array(['a', 'bc']), n=np.int64(5000))
np.savez(os.path.join(HERE, 'stats_int.npz'), mu=np.array([1, 2, 3]), sigma=sigma)
