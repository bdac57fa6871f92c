"""A module outside the app's folder, put on the guest's path with `build -p`."""


def shout(text):
    return text.upper() + "!"
